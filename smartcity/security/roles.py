"""Roles and their permissions, as data. Modules add their own permissions with :func:`grant`.

Scope: ``all`` sees every department; ``department`` sees its own department and the ones below it
(a district supervisor sees the district's streets and communities, a city one sees the whole city);
``self`` sees only what belongs to the user (citizens, devices).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["all", "department", "self"]


@dataclass
class Role:
    code: str
    label_zh: str
    label_en: str
    scope: Scope
    permissions: set[str] = field(default_factory=set)
    staff: bool = True  # staff roles may sign in to the operator pages

    def label(self, language: str) -> str:
        return self.label_zh if language.startswith("zh") else self.label_en

    def allows(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


ROLES: dict[str, Role] = {
    role.code: role
    for role in (
        Role("admin", "系统管理员", "Administrator", "all", {"*"}),
        Role(
            "supervisor",
            "值班长 / 督办",
            "Supervisor",
            "department",
            {"users.read", "departments.read", "audit.read", "personal_data.read"},
        ),
        Role("dispatcher", "派遣员", "Dispatcher", "department", {"users.read", "departments.read"}),
        Role("operator", "受理员", "Hotline operator", "department", {"departments.read", "personal_data.read"}),
        Role("inspector", "监督员", "Field inspector", "department", {"departments.read"}),
        Role("handler", "处置部门", "Department handler", "department", {"departments.read"}),
        Role("viewer", "查看者", "Viewer", "department", {"departments.read"}),
        Role("emergency", "应急值班员", "Emergency officer", "department", {"departments.read"}),
        Role("traffic", "交通运行管理员", "Traffic engineer", "department", {"departments.read"}),
        Role("citizen", "市民", "Citizen", "self", set(), staff=False),
        Role("device", "设备", "Device", "self", set(), staff=False),
    )
}

# Permissions every module shares; a module's own are granted in its __init__ with grant().
PERMISSIONS: dict[str, str] = {
    "users.read": "see staff accounts of the departments in scope",
    "users.manage": "create, change and deactivate accounts",
    "departments.read": "see the department tree",
    "departments.manage": "create and change departments",
    "audit.read": "read the audit chain",
    "audit.verify": "verify the audit chain",
    "apikeys.manage": "issue and revoke API keys",
    "personal_data.read": "see citizens' personal data unmasked (every read is audited)",
}


def grant(permission: str, description: str, *role_codes: str) -> None:
    """Declare a module's permission and give it to roles (admin holds every permission already)."""
    PERMISSIONS[permission] = description
    for code in role_codes:
        ROLES[code].permissions.add(permission)


def role_codes() -> list[str]:
    return list(ROLES)

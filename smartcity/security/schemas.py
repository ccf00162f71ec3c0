"""Request and response bodies of the security API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from smartcity.core.schemas import Request, Response

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{3,64}$"
Language = Literal["zh-CN", "en"]


class DepartmentIn(Request):
    code: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9A-Za-z\-]+$",
        description="GB/T 2260 code for districts; any unique code below them",
    )
    name: str = Field(min_length=1, max_length=120)
    name_en: str | None = Field(None, max_length=160)
    level: Literal["city", "district", "street", "community"]
    parent_code: str | None = Field(None, max_length=32)


class DepartmentOut(Response):
    id: int
    code: str
    name: str
    name_en: str | None
    level: str
    parent_id: int | None
    path: str
    active: bool


class UserIn(Request):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–64 letters, digits, _ . -")
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=256)
    role: str = Field(max_length=32)
    department_code: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9\- ]{5,32}$")
    language: Language = "zh-CN"


class UserPatch(Request):
    display_name: str | None = Field(None, min_length=1, max_length=120)
    role: str | None = Field(None, max_length=32)
    department_code: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9\- ]{5,32}$")
    language: Language | None = None
    active: bool | None = None


class PasswordChange(Request):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserOut(Response):
    id: int
    username: str
    display_name: str
    role: str
    department_id: int | None
    email: str | None
    phone: str | None
    language: str
    active: bool
    created_at: datetime
    masked: bool = Field(description="true when email and phone are masked for your role")


class TokenOut(Response):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ApiKeyIn(Request):
    name: str = Field(min_length=1, max_length=120)
    username: str = Field(pattern=USERNAME_PATTERN, description="the account the key acts as")
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2027-01-01T00:00:00+08:00")
        return value


class ApiKeyOut(Response):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown once: store it now")


class AuditRecordOut(Response):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    before: str | None
    after: str | None
    algorithm: str
    hash: str


class VerdictOut(Response):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None

"""Loads the demo city into the configured database. Idempotent: a second run adds nothing."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from smartcity.config import VAR_DIR
from smartcity.core.errors import NotFound
from smartcity.security import service as security

# Shanghai and its 16 districts with their GB/T 2260 codes (the same codes as the boundary data).
CITY = ("310000", "上海市", "Shanghai")
DISTRICTS = [
    ("310101", "黄浦区", "Huangpu District"),
    ("310104", "徐汇区", "Xuhui District"),
    ("310105", "长宁区", "Changning District"),
    ("310106", "静安区", "Jing'an District"),
    ("310107", "普陀区", "Putuo District"),
    ("310109", "虹口区", "Hongkou District"),
    ("310110", "杨浦区", "Yangpu District"),
    ("310112", "闵行区", "Minhang District"),
    ("310113", "宝山区", "Baoshan District"),
    ("310114", "嘉定区", "Jiading District"),
    ("310115", "浦东新区", "Pudong New Area"),
    ("310116", "金山区", "Jinshan District"),
    ("310117", "松江区", "Songjiang District"),
    ("310118", "青浦区", "Qingpu District"),
    ("310120", "奉贤区", "Fengxian District"),
    ("310151", "崇明区", "Chongming District"),
]
# Synthetic below district level: the boundary data has no streets or communities (see docs/demo.md).
STREET = ("310101900", "310101", "演示街道（合成）", "Demo Street (synthetic)")
COMMUNITY = ("310101900001", "310101900", "演示社区（合成）", "Demo Community (synthetic)")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    department_code: str | None


ACCOUNTS = [
    DemoAccount("admin", "系统管理员", "admin", CITY[0]),
    DemoAccount("supervisor", "值班长 王敏", "supervisor", CITY[0]),
    DemoAccount("dispatcher", "派遣员 李强", "dispatcher", CITY[0]),
    DemoAccount("operator", "受理员 陈静", "operator", CITY[0]),
    DemoAccount("inspector", "监督员 赵磊", "inspector", STREET[0]),
    DemoAccount("handler", "黄浦区处置员 周洁", "handler", "310101"),
    DemoAccount("viewer", "查看者 孙悦", "viewer", CITY[0]),
    DemoAccount("emergency", "应急值班员 吴昊", "emergency", CITY[0]),
    DemoAccount("traffic", "交通运行管理员 郑伟", "traffic", CITY[0]),
    DemoAccount("citizen", "市民 刘洋", "citizen", None),
    DemoAccount("device", "演示设备网关", "device", None),
]
CREDENTIALS_FILE = VAR_DIR / "demo-logins.txt"


@dataclass
class DemoResult:
    departments_added: int
    new_logins: dict[str, str]  # username -> generated password, only for accounts made in this run


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10)) + "-" + secrets.choice(string.digits)


def _ensure_department(session: Session, code: str, name: str, name_en: str, level: str, parent: str | None) -> bool:
    try:
        security.department_by_code(session, code)
        return False
    except NotFound:
        security.create_department(session, code=code, name=name, name_en=name_en, level=level, parent_code=parent)
        return True


def load(session: Session) -> DemoResult:
    """Add whatever of the demo city is missing and return what was added."""
    added = int(_ensure_department(session, *CITY, "city", None))
    for code, name, name_en in DISTRICTS:
        added += _ensure_department(session, code, name, name_en, "district", CITY[0])
    added += _ensure_department(session, STREET[0], STREET[2], STREET[3], "street", STREET[1])
    added += _ensure_department(session, COMMUNITY[0], COMMUNITY[2], COMMUNITY[3], "community", COMMUNITY[1])
    logins = {}
    for account in ACCOUNTS:
        if security.user_by_name(session, account.username) is None:
            password = _password()
            security.create_user(
                session,
                username=account.username,
                display_name=account.display_name,
                password=password,
                role=account.role,
                department_code=account.department_code,
            )
            logins[account.username] = password
    return DemoResult(added, logins)


def save_logins(logins: dict[str, str], path: Path = CREDENTIALS_FILE) -> None:
    """Keep generated passwords in a private file under var/ (never committed) so they can be looked up."""
    if not logins:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{user}\t{password}\n" for user, password in logins.items()]
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(lines)
    path.chmod(0o600)

"""Security rules: accounts, departments, sign-in with throttling, tokens and API keys. Never commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core import audit, events
from smartcity.core.audit import AuditRecord
from smartcity.core.db import utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.core.privacy import mask_email, mask_phone
from smartcity.security.models import DEPARTMENT_LEVELS, ApiKey, AuthToken, Department, LoginFailure, User
from smartcity.security.permissions import Principal
from smartcity.security.roles import ROLES
from smartcity.security.schemas import UserOut

MIN_PASSWORD_LENGTH = 10
API_KEY_PREFIX = "sck"
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same, so timing
# does not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure_password_hasher(*, time_cost: int, memory_cost: int) -> None:
    """Change the Argon2 cost (tests use a cheap one; production keeps argon2-cffi's RFC 9106 default)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


# ---------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Raise a 422 naming the field when a password is too weak to accept."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if password.isdigit() or password.isalpha():
        problems.append("must mix letters with digits or symbols")
    if problems:
        raise Problem(
            422,
            "The password is too weak: " + "; ".join(problems) + ".",
            code="weak-password",
            errors=[{"field": "password", "message": m} for m in problems],
        )


def password_matches(user: User | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
            and user is not None
        )
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- departments


def create_department(
    session: Session,
    *,
    code: str,
    name: str,
    level: str,
    parent_code: str | None = None,
    name_en: str | None = None,
) -> Department:
    """Add a department under ``parent_code``; its level must be the one just below its parent's."""
    if level not in DEPARTMENT_LEVELS:
        raise Problem(
            422,
            f"Unknown level {level!r}; use one of {', '.join(DEPARTMENT_LEVELS)}.",
            errors=[{"field": "level", "message": "unknown level"}],
        )
    if session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(f"A department with code {code} exists already.", code="duplicate-department")
    parent = department_by_code(session, parent_code) if parent_code else None
    _check_level(level, parent)
    department = Department(
        code=code,
        name=name,
        name_en=name_en,
        level=level,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + f"{code}/",
    )
    session.add(department)
    session.flush()
    events.emit(session, "security.department_created", id=department.id, code=code)
    return department


def _check_level(level: str, parent: Department | None) -> None:
    depth = DEPARTMENT_LEVELS.index(level)
    if parent is None and depth != 0:
        raise Problem(
            422,
            f"A {level} needs a parent department.",
            errors=[{"field": "parent_code", "message": "required for this level"}],
        )
    if parent is not None and DEPARTMENT_LEVELS.index(parent.level) >= depth:
        raise Problem(
            422,
            f"A {level} cannot sit under a {parent.level}.",
            errors=[{"field": "parent_code", "message": "wrong level of parent"}],
        )


def department_by_code(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound("department", code)
    return department


def root_department_code(session: Session) -> str | None:
    """The code of the top department (the city), or None before any exists."""
    return session.scalar(select(Department.code).where(Department.parent_id.is_(None)).order_by(Department.id))


def get_department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("department", department_id)
    return department


def list_departments(session: Session, principal: Principal) -> list[Department]:
    """The departments the principal may see: all, or their own subtree and its ancestors."""
    stmt = select(Department).order_by(Department.path)
    if principal.role.scope != "all":
        ancestors = [code for code in principal.department_path.strip("/").split("/") if code]
        stmt = stmt.where(or_(Department.path.startswith(principal.department_path), Department.code.in_(ancestors)))
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- users


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str | None,
    role: str,
    department_code: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    language: str = "zh-CN",
) -> User:
    """Add an account. Staff need a department; the password must be strong. Raises 409 on a taken name."""
    if role not in ROLES:
        raise Problem(
            422,
            f"Unknown role {role!r}; use one of {', '.join(ROLES)}.",
            errors=[{"field": "role", "message": "unknown role"}],
        )
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"The user name {username!r} is taken.", code="duplicate-user")
    department = department_by_code(session, department_code) if department_code else None
    if ROLES[role].scope == "department" and department is None:
        raise Problem(
            422,
            f"A {role} must belong to a department.",
            errors=[{"field": "department_code", "message": "required for this role"}],
        )
    if password is not None:
        check_password_strength(password)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        department_id=department.id if department else None,
        email=email,
        phone=phone,
        language=language,
        password_hash=hash_password(password) if password else None,
        password_changed_at=utcnow() if password else None,
    )
    session.add(user)
    session.flush()
    events.emit(session, "security.user_created", id=user.id, username=username, role=role)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def visible_user(session: Session, principal: Principal, user_id: int) -> User:
    """The user, if the principal's scope reaches them; otherwise 404 (not 403: do not confirm it exists)."""
    user = session.get(User, user_id)
    if user is None or not user_in_scope(session, principal, user):
        raise NotFound("user", user_id)
    return user


def user_in_scope(session: Session, principal: Principal, user: User) -> bool:
    if principal.role.scope == "all" or user.id == principal.user_id:
        return True
    if principal.role.scope == "self" or user.department_id is None:
        return False
    path = session.scalar(select(Department.path).where(Department.id == user.department_id)) or ""
    return path.startswith(principal.department_path)


def list_users(session: Session, principal: Principal, *, limit: int = 100, offset: int = 0) -> list[User]:
    """Accounts in the principal's scope, oldest first."""
    stmt = select(User).order_by(User.id).limit(limit).offset(offset)
    if principal.role.scope == "self":
        stmt = stmt.where(User.id == principal.user_id)
    elif principal.role.scope == "department":
        stmt = stmt.join(Department, User.department_id == Department.id).where(
            Department.path.startswith(principal.department_path)
        )
    return list(session.scalars(stmt))


def update_user(session: Session, user: User, **changes: object) -> User:
    """Change role, department, name, contact or active flag; unknown keys are refused by the schema."""
    if "role" in changes and changes["role"] not in ROLES:
        raise Problem(422, f"Unknown role {changes['role']!r}.", errors=[{"field": "role", "message": "unknown"}])
    if "department_code" in changes:
        code = changes.pop("department_code")
        user.department_id = department_by_code(session, str(code)).id if code else None
    for key, value in changes.items():
        setattr(user, key, value)
    if ROLES[user.role].scope == "department" and user.department_id is None:
        raise Problem(
            422,
            f"A {user.role} must belong to a department.",
            errors=[{"field": "department_code", "message": "required for this role"}],
        )
    if changes.get("active") is False:
        revoke_all_tokens(session, user.id)
    session.flush()
    events.emit(session, "security.user_changed", id=user.id, fields=sorted(changes))
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    audit.label(session, "user.password_set")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_all_tokens(session, user.id)
    session.flush()


def principal_for(session: Session, user: User, *, via: str, token_id: int | None = None) -> Principal:
    path = "/"
    if user.department_id is not None:
        path = session.scalar(select(Department.path).where(Department.id == user.department_id)) or "/"
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=ROLES[user.role],
        department_id=user.department_id,
        department_path=path,
        language=user.language,
        via=via,
        token_id=token_id,
    )


# ---------------------------------------------------------------- sign-in and throttling


@dataclass(frozen=True)
class SignIn:
    """Result of a password check: ``user`` is set when it succeeded, else ``problem`` says why."""

    user: User | None
    problem: Problem | None


def sign_in(session: Session, settings: Settings, username: str, password: str, ip: str | None) -> SignIn:
    """Check a password with throttling. Failures are recorded (and audited) so the caller must commit
    even when sign-in fails; that is why this returns the problem instead of raising it."""
    retry_after = _throttled_for(session, settings, username, ip)
    if retry_after:
        audit.append(session, "security.login_throttled", "user_account", username, after={"ip": ip})
        return SignIn(
            None,
            Problem(
                429,
                f"Too many failed sign-ins. Wait {retry_after // 60 + 1} minutes and try again.",
                code="login-throttled",
                headers={"Retry-After": str(retry_after)},
            ),
        )
    user = user_by_name(session, username)
    if not password_matches(user, password) or user is None or not user.active:
        session.add(LoginFailure(username=username.lower(), client_ip=ip))
        audit.append(session, "security.login_failed", "user_account", username, after={"ip": ip})
        return SignIn(None, Problem(401, "The user name or password is wrong.", code="bad-credentials"))
    session.info["actor"] = user.username  # what follows (the new session or token) is the user's doing
    _rehash_if_needed(user, password)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username.lower()))
    return SignIn(user, None)


def _rehash_if_needed(user: User, password: str) -> None:
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def _throttled_for(session: Session, settings: Settings, username: str, ip: str | None) -> int:
    """Seconds until another attempt is allowed (0 when allowed). Per name, and 4× as many per address."""
    window = timedelta(minutes=settings.login_window_minutes)
    since = utcnow() - window
    checks = [(LoginFailure.username == username.lower(), settings.login_max_failures)]
    if ip:
        checks.append((LoginFailure.client_ip == ip, settings.login_max_failures * 4))
    for condition, limit in checks:
        times = session.scalars(
            select(LoginFailure.at)
            .where(condition, LoginFailure.at >= since)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            return max(1, int((times[-1] + window - utcnow()).total_seconds()))
    return 0


# ---------------------------------------------------------------- tokens


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_token(
    session: Session, user: User, *, kind: str, lifetime: timedelta, ip: str | None
) -> tuple[str, AuthToken]:
    """A new random token (returned in clear once) and its stored record."""
    audit.label(session, "security.login" if kind == "session" else "security.token_issued")
    plain = secrets.token_urlsafe(32)
    token = AuthToken(
        token_hash=_sha256(plain), kind=kind, user_id=user.id, expires_at=utcnow() + lifetime, client_ip=ip
    )
    session.add(token)
    session.flush()
    return plain, token


def resolve_token(session: Session, plain: str, kind: str) -> tuple[User, AuthToken] | None:
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == _sha256(plain), AuthToken.kind == kind))
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return user, token


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(AuthToken, token_id)
    if token is not None and token.revoked_at is None:
        audit.label(session, "security.logout")
        token.revoked_at = utcnow()
        session.flush()


def revoke_all_tokens(session: Session, user_id: int) -> None:
    for token in session.scalars(select(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token of a page session: derived, so nothing extra is stored."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- API keys


def create_api_key(
    session: Session, *, name: str, user: User, expires_at: datetime | None = None
) -> tuple[str, ApiKey]:
    """A new key ``sck_<prefix>_<secret>`` (returned in clear once) acting as ``user``."""
    prefix = secrets.token_hex(4)
    plain = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=_sha256(plain), user_id=user.id, expires_at=expires_at)
    session.add(key)
    session.flush()
    events.emit(session, "security.api_key_created", id=key.id, user_id=user.id)
    return plain, key


def resolve_api_key(session: Session, plain: str) -> User | None:
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or not hmac.compare_digest(key.key_hash, _sha256(plain)) or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= utcnow():
        return None
    user = session.get(User, key.user_id)
    return user if user is not None and user.active else None


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key", key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


# ---------------------------------------------------------------- reading with privacy


def user_out(session: Session, principal: Principal, user: User) -> UserOut:
    """The account as the principal may see it: contact data masked unless their role needs it."""
    return users_out(session, principal, [user])[0]


def users_out(session: Session, principal: Principal, users: list[User]) -> list[UserOut]:
    """Accounts for the principal; an unmasked read of others' contact data is audited once."""
    unmasked = principal.can("personal_data.read")
    read_ids = [u.id for u in users if unmasked and u.id != principal.user_id and (u.phone or u.email)]
    if read_ids:
        audit.append(
            session,
            "personal_data.read",
            "user_account",
            ",".join(map(str, read_ids[:50])),
            after={"count": len(read_ids)},
        )
    return [_user_view(u, unmasked or u.id == principal.user_id) for u in users]


def _user_view(user: User, unmasked: bool) -> UserOut:
    data = {c: getattr(user, c) for c in UserOut.model_fields if c != "masked"}
    if not unmasked:
        data["phone"], data["email"] = mask_phone(user.phone), mask_email(user.email)
    return UserOut(**data, masked=not unmasked)


def audit_records(
    session: Session,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    actor: str | None = None,
    object_type: str | None = None,
) -> tuple[list[AuditRecord], int]:
    """Audit records newest first; outside the ``all`` scope only those made by accounts in scope."""
    stmt = select(AuditRecord)
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if object_type:
        stmt = stmt.where(AuditRecord.object_type == object_type)
    if principal.role.scope != "all":
        in_scope = (
            select(User.username)
            .join(Department, User.department_id == Department.id)
            .where(Department.path.startswith(principal.department_path))
        )
        stmt = stmt.where(AuditRecord.actor.in_(in_scope))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    records = session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(limit).offset(offset)).all()
    return list(records), total

"""Authentication: passwords (argon2) and bearer tokens for the API.

Tokens are random and opaque; the database keeps only their sha256, so a leaked table grants
nothing. Every ``/api/v1`` request except the token request must carry a valid, unexpired,
unrevoked token.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, request
from sqlalchemy import bindparam, select

from .models import ApiToken, OrgUnit, User, UserRole
from .problems import ApiProblem
from .services import services

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user is unknown keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the request handlers need it."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    unit_path: str
    unit_name: str

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def covers(self, jurisdiction: str) -> bool:
        return (jurisdiction or "").startswith(self.unit_path)


def issue_token(username: str, password: str) -> tuple[str, int]:
    svc = services()
    with svc.db.write() as session, session.begin():
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            verify_password(_DUMMY_HASH, password)
            raise ApiProblem(401, "wrong username or password", "用户名或密码错误")
        if not verify_password(user.password_hash, password) or not user.active:
            raise ApiProblem(401, "wrong username or password", "用户名或密码错误")
        token = secrets.token_urlsafe(32)
        now = svc.clock.now()
        ttl = svc.settings.token_ttl_seconds
        session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                             expires_at=now + timedelta(seconds=ttl)))
    return token, ttl


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/token",
                         "请先登录")
    svc = services()
    # Core statements: this runs on every request, and the ORM's unit of work buys nothing here.
    with svc.db.engine.connect() as conn:
        rows = conn.execute(_TOKEN_QUERY, {"digest": _digest(token.strip())}).all()
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or row.expires_at <= svc.clock.now() or not row.active:
        raise ApiProblem(401, "the token is invalid, expired or revoked", "登录已失效，请重新登录")
    roles = frozenset(r.role_code for r in rows if r.role_code)
    g.principal = Principal(row.user_id, row.username, row.display_name, roles, row.path, row.unit_name)
    return g.principal


# One row per role of the token's user (one row with no role if the user has none).
_TOKEN_QUERY = (select(ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at, User.username, User.display_name,
                       User.active, OrgUnit.path, OrgUnit.name.label("unit_name"), UserRole.role_code)
                .join(User, User.id == ApiToken.user_id).join(OrgUnit, OrgUnit.id == User.unit_id)
                .outerjoin(UserRole, UserRole.user_id == User.id)
                .where(ApiToken.token_hash == bindparam("digest")))


def current() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        principal = authenticate()
    return principal


def require_role(*roles: str) -> Principal:
    principal = current()
    if not principal.has_role(*roles):
        raise ApiProblem(403, f"this needs one of the roles: {', '.join(roles)}", "您的角色无权执行此操作")
    return principal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

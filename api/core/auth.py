"""Authentication: passwords (argon2), bearer tokens for the API, session cookies for the web.

Tokens are random and opaque; the database keeps only their sha256, so a leaked table grants
nothing. Every ``/api/v1`` request except the login requests must carry a valid, unexpired,
unrevoked token: as ``Authorization: Bearer <token>``, or as the ``cunliao_session`` cookie set by
``POST /api/v1/auth/session``. A cookie is sent by the browser on its own, so with a cookie every
unsafe method must also carry the session's CSRF token in ``X-CSRF-Token``.

The session is a row in ``api_tokens`` (kind ``session``) rather than Flask's signed cookie: the
secret key may differ between worker processes, a row does not, and sessions are then listed and
revoked like any token.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, has_request_context, request
from sqlalchemy import bindparam, select, update

from . import ratelimit
from .models import ApiToken, OrgUnit, User, UserRole
from .problems import ApiProblem
from .services import services

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user is unknown keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(8))

SESSION_COOKIE = "cunliao_session"
CSRF_COOKIE = "cunliao_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Paths that need no token (so a wrong method answers 405, not 401); signing out of a session does.
PUBLIC_PATHS = {"/api/v1/auth/token", "/api/v1/auth/session"}
# What a user who must change the password may still do.
ALLOWED_BEFORE_PASSWORD_CHANGE = {("POST", "/api/v1/auth/password"), ("POST", "/api/v1/auth/logout"),
                                  ("DELETE", "/api/v1/auth/session")}
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str = "") -> tuple[str, str] | None:
    """The minimal strength rule; returns (English detail, Chinese message) when it is broken."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
                f"密码至少需要 {MIN_PASSWORD_LENGTH} 位")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return "the password needs both letters and digits", "密码需同时包含字母和数字"
    if username and username.lower() in password.lower():
        return "the password must not contain the username", "密码不能包含用户名"
    return None


def generate_password() -> str:
    """A temporary password that passes the strength rule (letters and digits guaranteed)."""
    return f"{secrets.token_urlsafe(9)}a7"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the request handlers need it."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    unit_path: str
    unit_name: str
    token_id: int = 0
    via: str = "bearer"  # or "session" (the web cookie)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def covers(self, jurisdiction: str) -> bool:
        return (jurisdiction or "").startswith(self.unit_path)

    def offered(self, role: str | None, unit: str) -> bool:
        """Whether a task for (role, unit) is offered to this user: they hold the role at the unit,
        above it, or within it (a village's task reaches the grid workers of the village)."""
        return role in self.roles and bool(unit) and (self.covers(unit) or self.unit_path.startswith(unit))


@dataclass(frozen=True)
class IssuedToken:
    token: str
    ttl: int
    csrf_token: str | None
    user_id: int
    must_change_password: bool


def client_ip() -> str:
    # Behind a reverse proxy, configure it (or werkzeug's ProxyFix) so that this is the client.
    return (request.remote_addr or "unknown")[:64]


def issue_token(username: str, password: str, kind: str = "bearer") -> IssuedToken:
    """Check a login (rate-limited) and create a bearer token or a web session."""
    svc = services()
    now = svc.clock.now()
    key, ip = ratelimit.normalise(username), client_ip()
    with svc.db.read() as session:
        ratelimit.check(session, key, ip, now)
        user = session.scalars(select(User).where(User.username == username)).first()
        known = (user.id, user.password_hash, user.active, user.must_change_password) if user else None
    # argon2 runs outside any transaction, so a login never holds SQLite's write lock for it.
    ok = verify_password(known[1], password) if known else verify_password(_DUMMY_HASH, password)
    ok = ok and bool(known and known[2])
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    ttl = svc.settings.token_ttl_seconds
    with svc.db.write() as session, session.begin():
        ratelimit.record(session, key, ip, now, ok)
        if ok and known:
            session.add(ApiToken(user_id=known[0], token_hash=_digest(token), created_at=now,
                                 expires_at=now + timedelta(seconds=ttl), kind=kind,
                                 csrf_hash=_digest(csrf) if csrf else None, created_ip=ip,
                                 user_agent=(request.user_agent.string or "")[:200] or None))
    if not ok or not known:
        raise ApiProblem(401, "wrong username or password", "用户名或密码错误")
    return IssuedToken(token, ttl, csrf, known[0], known[3])


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _login_needed()
        via, token = "bearer", token.strip()
    elif cookie:
        via, token = "session", cookie
    else:
        raise _login_needed()
    svc = services()
    # Core statements: this runs on every request, and the ORM's unit of work buys nothing here.
    with svc.db.read_engine.connect() as conn:
        rows = conn.execute(_TOKEN_QUERY, {"digest": _digest(token)}).all()
    row = rows[0] if rows else None
    if (row is None or row.revoked_at is not None or row.expires_at <= svc.clock.now() or not row.active
            or row.kind != via):
        raise ApiProblem(401, "the token is invalid, expired or revoked", "登录已失效，请重新登录")
    if via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not row.csrf_hash or not hmac.compare_digest(_digest(sent), row.csrf_hash):
            raise ApiProblem(403, f"missing or wrong {CSRF_HEADER} header; it is returned by POST /api/v1/auth/session",
                             "页面已过期或请求来源不可信，请刷新页面后重试", code="csrf")
    if row.must_change_password and (request.method, request.path) not in ALLOWED_BEFORE_PASSWORD_CHANGE:
        raise ApiProblem(403, "you must change your password first: POST /api/v1/auth/password {old, new}",
                         "首次登录或密码已被重置，请先修改密码后再使用系统", code="must_change_password")
    roles = frozenset(r.role_code for r in rows if r.role_code)
    g.principal = Principal(row.user_id, row.username, row.display_name, roles, row.path, row.unit_name,
                            row.token_id, via)
    return g.principal


def _login_needed() -> ApiProblem:
    return ApiProblem(401, "send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/token",
                      "请先登录")


# One row per role of the token's user (one row with no role if the user has none).
_TOKEN_QUERY = (select(ApiToken.id.label("token_id"), ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at,
                       ApiToken.kind, ApiToken.csrf_hash, User.username, User.display_name, User.active,
                       User.must_change_password, OrgUnit.path, OrgUnit.name.label("unit_name"), UserRole.role_code)
                .join(User, User.id == ApiToken.user_id).join(OrgUnit, OrgUnit.id == User.unit_id)
                .outerjoin(UserRole, UserRole.user_id == User.id)
                .where(ApiToken.token_hash == bindparam("digest")))


def is_public(method: str, path: str) -> bool:
    return path in PUBLIC_PATHS and not (path == "/api/v1/auth/session" and method == "DELETE")


def current() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        principal = authenticate()
    return principal


def signed_in() -> Principal | None:
    """The caller if this request has authenticated them already (no query), else None."""
    return g.get("principal") if has_request_context() else None


def require_role(*roles: str) -> Principal:
    principal = current()
    if not principal.has_role(*roles):
        raise ApiProblem(403, f"this needs one of the roles: {', '.join(roles)}", "您的角色无权执行此操作")
    return principal


def revoke_tokens(session, user_id: int, now, keep: int | None = None) -> None:
    """Revoke every live token of a user (but ``keep``); the next request with one answers 401."""
    condition = (ApiToken.user_id == user_id) & ApiToken.revoked_at.is_(None)
    if keep is not None:
        condition &= ApiToken.id != keep
    session.execute(update(ApiToken).where(condition).values(revoked_at=now))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

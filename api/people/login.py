"""Authentication endpoints: bearer tokens, the web session cookie, logout, token lists, password change."""
from __future__ import annotations

from flask import Response, g
from flask_smorest import Blueprint
from werkzeug.http import dump_cookie
from sqlalchemy import select

from api.core import auth, org, ratelimit
from api.core.models import ApiToken, User
from api.core.problems import ApiProblem
from api.core.services import services

from .schemas import PasswordChange, SessionOut, TokenOut, TokenQuery, TokenRequest, TokenResponse

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


@blp.post("/token")
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.doc(security=[])
def token(body):
    """Get a bearer token (valid for TOKEN_TTL_SECONDS). Failed logins are rate-limited (429)."""
    issued = auth.issue_token(body["username"], body["password"])
    return {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.ttl}


@blp.post("/session")
@blp.arguments(TokenRequest)
@blp.response(200, SessionOut)
@blp.doc(security=[])
def open_session(body):
    """Sign in the web UI: sets an HttpOnly, SameSite=Lax session cookie and returns the CSRF token
    to send as ``X-CSRF-Token`` with every POST, PUT, PATCH and DELETE."""
    issued = auth.issue_token(body["username"], body["password"], kind="session")
    svc = services()
    with svc.db.read() as session:
        user = session.get(User, issued.user_id)
        out = {"csrf_token": issued.csrf_token, "expires_in": issued.ttl, "username": user.username,
               "display_name": user.display_name, "roles": sorted(user.roles), "unit_path": user.unit.path,
               "must_change_password": issued.must_change_password}
    return out, 200, [("Set-Cookie", _cookie_header(issued.token, issued.ttl)),
                      ("Set-Cookie", _csrf_cookie_header(issued.csrf_token, issued.ttl))]


@blp.delete("/session")
@blp.response(204)
def close_session():
    """Sign out of the web UI: revokes the session and clears the cookie."""
    _revoke_current()
    return Response(status=204, headers=[("Set-Cookie", _cookie_header("", 0)),
                                         ("Set-Cookie", _csrf_cookie_header("", 0))])


@blp.post("/logout")
@blp.response(204)
def logout():
    """Revoke the token (or session) of this request; the next request with it answers 401."""
    principal = _revoke_current()
    headers = ([("Set-Cookie", _cookie_header("", 0)), ("Set-Cookie", _csrf_cookie_header("", 0))]
               if principal.via == "session" else [])
    return Response(status=204, headers=headers)


@blp.get("/tokens")
@blp.arguments(TokenQuery, location="query")
@blp.response(200, TokenOut(many=True))
def list_tokens(query):
    """Your live tokens and sessions; admins may name another user of their area with ``user_id``."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as session:
        user_id = _token_owner(session, principal, query.get("user_id"))
        stmt = select(ApiToken).where(ApiToken.user_id == user_id)
        if not query["include_inactive"]:
            stmt = stmt.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        tokens = list(session.scalars(stmt.order_by(ApiToken.id.desc())))
    return [{**{c: getattr(t, c) for c in ("id", "user_id", "kind", "created_at", "expires_at", "revoked_at",
                                           "created_ip", "user_agent")}, "current": t.id == principal.token_id}
            for t in tokens]


@blp.delete("/tokens/<int:token_id>")
@blp.response(204)
def revoke_token(token_id: int):
    """Revoke one of your tokens, or (admins) a token of a user in your area."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        row = session.get(ApiToken, token_id)
        owner = session.get(User, row.user_id) if row else None
        if row is None or owner is None:
            raise _token_not_found(token_id)
        if owner.id != principal.id:
            if not principal.has_role("admin") or not org.in_scope(owner.unit.path, principal.unit_path):
                raise _token_not_found(token_id)
            org.record(session, now, principal.username, "token.revoke", "token", row.id, owner.unit.path,
                          after={"user_id": owner.id, "username": owner.username, "kind": row.kind})
        if row.revoked_at is None:
            row.revoked_at = now


@blp.post("/password")
@blp.arguments(PasswordChange)
@blp.response(204)
def change_password(body):
    """Change your password ({old, new}): at least 8 characters with letters and digits, not containing
    the username. Your other tokens and sessions are revoked; this one stays valid."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    key, ip = ratelimit.normalise(principal.username), auth.client_ip()
    with svc.db.read() as session:
        # A stolen token must not become a way to guess the password without limit.
        ratelimit.check(session, key, ip, now)
        password_hash = session.get(User, principal.id).password_hash
    if not auth.verify_password(password_hash, body["old"]):
        with svc.db.write() as session, session.begin():
            ratelimit.record(session, key, ip, now, False)
        raise ApiProblem(422, "the old password is wrong", "原密码错误", errors={"old": "原密码错误"})
    problem = auth.password_problem(body["new"], principal.username)
    if problem is None and body["new"] == body["old"]:
        problem = ("the new password must differ from the old one", "新密码不能与原密码相同")
    if problem:
        raise ApiProblem(422, problem[0], problem[1], errors={"new": problem[1]})
    new_hash = auth.hash_password(body["new"])
    with svc.db.write() as session, session.begin():
        user = session.get(User, principal.id)
        was_forced = user.must_change_password
        user.password_hash, user.must_change_password = new_hash, False
        auth.revoke_tokens(session, user.id, now, keep=principal.token_id)
        org.record(session, now, principal.username, "user.change_password", "user", user.id, user.unit.path,
                      after={"forced": was_forced})
    return Response(status=204)


def _revoke_current() -> auth.Principal:
    principal = auth.current()
    svc = services()
    with svc.db.write() as session, session.begin():
        row = session.get(ApiToken, principal.token_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = svc.clock.now()
    g.principal = None
    return principal


def _token_owner(session, principal: auth.Principal, user_id: int | None) -> int:
    if user_id is None or user_id == principal.id:
        return principal.id
    owner = session.get(User, user_id)
    if not principal.has_role("admin") or owner is None or not org.in_scope(owner.unit.path, principal.unit_path):
        raise ApiProblem(404, f"user {user_id} does not exist or is outside your area", "未找到该用户，或不在您的管辖范围内")
    return owner.id


def _token_not_found(token_id: int) -> ApiProblem:
    return ApiProblem(404, f"token {token_id} does not exist or is not yours", "未找到该令牌")


def _cookie_header(value: str, max_age: int) -> str:
    # HttpOnly: page scripts cannot read it; SameSite=Lax: other sites' forms do not send it on POST.
    return dump_cookie(auth.SESSION_COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
                       secure=services().settings.session_cookie_secure)


def _csrf_cookie_header(value: str, max_age: int) -> str:
    # Readable by the UI's own scripts (double submit): a page opened in a new tab finds the token to
    # send as X-CSRF-Token. Other sites can neither read it nor make the browser send it (Strict).
    return dump_cookie(auth.CSRF_COOKIE, value, max_age=max_age, path="/", httponly=False, samesite="Strict",
                       secure=services().settings.session_cookie_secure)

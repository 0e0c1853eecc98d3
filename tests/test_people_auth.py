"""Authentication: token lists and revocation, logout, login rate limits, password change, the
must-change rule, and the web session cookie with CSRF."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from api.core.config import Settings
from api.core.models import User
from api.core.services import build_services
from api.people.seed import seed_demo, sync_reference_data
from cunliao.cli import migrate

from .conftest import DEMO_PASSWORD
from .test_people import bearer, problem, restore_people, user_id  # noqa: F401  (restore_people: autouse)


def login_attempt(client, username, password, ip="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


# --- tokens --------------------------------------------------------------------------------------

def test_tokens_are_listed_revoked_and_logged_out(client, login, svc):
    first, second = login("grid"), login("grid")
    tokens = client.get("/api/v1/auth/tokens", headers=first).get_json()
    assert len(tokens) == 2 and [t["current"] for t in tokens] == [False, True]
    assert tokens[0]["kind"] == "bearer" and tokens[0]["created_ip"] == "127.0.0.1" and tokens[0]["expires_at"]
    other = tokens[0]["id"]  # the newest first: the second login's token
    assert client.delete(f"/api/v1/auth/tokens/{other}", headers=first).status_code == 204
    problem(client.get("/api/v1/cases", headers=second), 401)
    assert client.get("/api/v1/cases", headers=first).status_code == 200
    assert len(client.get("/api/v1/auth/tokens", headers=first).get_json()) == 1
    assert len(client.get("/api/v1/auth/tokens?include_inactive=true", headers=first).get_json()) == 2

    mediator = login("mediator")
    mediator_token = client.get("/api/v1/auth/tokens", headers=mediator).get_json()[0]["id"]
    problem(client.delete(f"/api/v1/auth/tokens/{mediator_token}", headers=first), 404)  # not mine
    problem(client.delete("/api/v1/auth/tokens/99999", headers=first), 404)
    problem(client.get(f"/api/v1/auth/tokens?user_id={user_id(svc, 'mediator')}", headers=first), 404)

    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    problem(client.get("/api/v1/cases", headers=first), 401)
    problem(client.post("/api/v1/auth/logout", headers=first), 401)


def test_admins_list_and_revoke_tokens_of_their_users(client, login, svc):
    admin, mediator = login("admin"), login("mediator")
    listed = client.get(f"/api/v1/auth/tokens?user_id={user_id(svc, 'mediator')}", headers=admin).get_json()
    assert len(listed) == 1 and listed[0]["current"] is False
    assert client.delete(f"/api/v1/auth/tokens/{listed[0]['id']}", headers=admin).status_code == 204
    problem(client.get("/api/v1/cases", headers=mediator), 401)
    audit = client.get("/api/v1/admin/audit?target_type=token", headers=admin).get_json()["items"]
    assert audit[0]["action"] == "token.revoke" and audit[0]["after"]["username"] == "mediator"


# --- rate limiting -------------------------------------------------------------------------------

def test_failed_logins_are_limited_per_username(client, clock):
    for _ in range(5):
        assert login_attempt(client, "mediator", "wrong").status_code == 401
    blocked = login_attempt(client, "mediator", DEMO_PASSWORD, ip="10.0.0.2")  # even right, even elsewhere
    body = problem(blocked, 429)
    assert blocked.headers["Retry-After"] == "900" and body["retry_after"] == 900
    assert "登录失败次数过多" in body["message"] and "too many failed logins" in body["detail"]
    assert login_attempt(client, "grid", DEMO_PASSWORD).status_code == 200  # other users are not affected
    clock.advance(minutes=10)
    assert login_attempt(client, "mediator", DEMO_PASSWORD).headers["Retry-After"] == "300"
    clock.advance(minutes=5, seconds=1)
    assert login_attempt(client, "mediator", DEMO_PASSWORD).status_code == 200


def test_a_successful_login_clears_the_username_count(client, clock):
    for _ in range(4):
        login_attempt(client, "town", "wrong")
    assert login_attempt(client, "town", DEMO_PASSWORD).status_code == 200
    for _ in range(4):
        assert login_attempt(client, "town", "wrong").status_code == 401
    assert login_attempt(client, "town", DEMO_PASSWORD).status_code == 200


def test_failed_logins_are_limited_per_client_address(client, clock):
    for i in range(20):
        assert login_attempt(client, f"nobody{i}", "wrong", ip="10.9.9.9").status_code == 401
    problem(login_attempt(client, "grid", DEMO_PASSWORD, ip="10.9.9.9"), 429)
    assert login_attempt(client, "grid", DEMO_PASSWORD, ip="10.9.9.10").status_code == 200
    session = client.post("/api/v1/auth/session", json={"username": "grid", "password": DEMO_PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.9.9"})
    problem(session, 429)
    clock.advance(minutes=16)
    assert login_attempt(client, "grid", DEMO_PASSWORD, ip="10.9.9.9").status_code == 200


# --- passwords -----------------------------------------------------------------------------------

def test_password_change(client, login):
    headers, other = login("mediator"), login("mediator")
    change = lambda body: client.post("/api/v1/auth/password", headers=headers, json=body)  # noqa: E731
    assert "old" in problem(change({"old": "wrong", "new": "Better2026pass"}), 422)["errors"]
    assert problem(change({"old": DEMO_PASSWORD, "new": "short1"}), 422)["errors"]["new"] == "密码至少需要 8 位"
    problem(change({"old": DEMO_PASSWORD, "new": "onlyletters"}), 422)
    problem(change({"old": DEMO_PASSWORD, "new": "mediator2026"}), 422)
    problem(change({"old": DEMO_PASSWORD, "new": DEMO_PASSWORD}), 422)
    assert set(problem(change({}), 422)["errors"]) == {"old", "new"}
    assert change({"old": DEMO_PASSWORD, "new": "Better2026pass"}).status_code == 204
    assert client.get("/api/v1/cases", headers=headers).status_code == 200  # this token stays
    problem(client.get("/api/v1/cases", headers=other), 401)                # the others are revoked
    problem(client.post("/api/v1/auth/token", json={"username": "mediator", "password": DEMO_PASSWORD}), 401)
    bearer(client, "mediator", "Better2026pass")


def test_wrong_old_passwords_count_as_failed_logins(client, login):
    headers = login("grid")
    for _ in range(5):
        problem(client.post("/api/v1/auth/password", headers=headers, json={"old": "x", "new": "Better2026pass"}), 422)
    problem(client.post("/api/v1/auth/password", headers=headers,
                        json={"old": DEMO_PASSWORD, "new": "Better2026pass"}), 429)


def test_must_change_password_blocks_everything_but_the_change(client, login, svc):
    admin = login("admin")
    reset = client.post(f"/api/v1/admin/users/{user_id(svc, 'grid')}/password", headers=admin,
                        json={"password": "Temp2026pass"})
    assert reset.status_code == 200
    headers = bearer(client, "grid", "Temp2026pass")
    for response in (client.get("/api/v1/cases", headers=headers), client.get("/api/v1/tasks", headers=headers),
                     client.get("/api/v1/auth/tokens", headers=headers),
                     client.post("/api/v1/cases", headers=headers, json={"process_key": "x"})):
        body = problem(response, 403)
        assert body["code"] == "must_change_password" and "请先修改密码" in body["message"]
    assert client.post("/api/v1/auth/password", headers=headers,
                       json={"old": "Temp2026pass", "new": "Mine2026pass"}).status_code == 204
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    with svc.db.read() as session:
        assert session.scalars(select(User.must_change_password).where(User.username == "grid")).one() is False


def test_seeded_accounts_must_change_their_password_outside_demo_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("PII_KEY", "not-needed-here")  # required outside demo mode
    monkeypatch.setenv("DEMO_MODE", "0")
    assert Settings().demo_mode is False
    monkeypatch.setenv("DEMO_MODE", "true")
    assert Settings().demo_mode is True
    monkeypatch.delenv("DEMO_MODE")
    monkeypatch.delenv("PII_KEY")
    assert Settings().demo_mode is True
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    svc = build_services(Settings(database_url=url))
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, svc.settings.workflows_dir)
        seed_demo(session, DEMO_PASSWORD, datetime(2026, 1, 1, tzinfo=timezone.utc), demo_mode=False)
    with svc.db.read() as session:
        assert set(session.scalars(select(User.must_change_password))) == {True}
    svc.db.dispose()


# --- web session and CSRF ------------------------------------------------------------------------

def test_session_cookie_with_csrf(client, login):
    bad = client.post("/api/v1/auth/session", json={"username": "grid", "password": "wrong"})
    problem(bad, 401)
    opened = client.post("/api/v1/auth/session", json={"username": "grid", "password": DEMO_PASSWORD})
    assert opened.status_code == 200, opened.get_json()
    body = opened.get_json()
    assert body["username"] == "grid" and body["roles"] == ["grid_worker"] and body["must_change_password"] is False
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith("cunliao_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    csrf = {"X-CSRF-Token": body["csrf_token"]}

    assert client.get("/api/v1/cases").status_code == 200  # the cookie alone reads
    assert problem(client.post("/api/v1/cases", json={"process_key": "nope"}), 403)["code"] == "csrf"
    problem(client.post("/api/v1/cases", json={"process_key": "nope"}, headers={"X-CSRF-Token": "forged"}), 403)
    problem(client.post("/api/v1/cases", json={"process_key": "nope"}, headers=csrf), 404)  # got past auth
    [session_token] = client.get("/api/v1/auth/tokens").get_json()
    assert session_token["kind"] == "session" and session_token["current"] is True

    # The cookie's token is not a bearer token, and a bearer token does not work as a cookie.
    value = client.get_cookie("cunliao_session").value
    problem(client.get("/api/v1/cases", headers={"Authorization": f"Bearer {value}"}), 401)
    other = client.application.test_client()
    other.set_cookie("cunliao_session", login("grid")["Authorization"].split()[1])
    problem(other.get("/api/v1/cases"), 401)

    problem(client.delete("/api/v1/auth/session"), 403)  # signing out needs the CSRF token too
    closed = client.delete("/api/v1/auth/session", headers=csrf)
    assert closed.status_code == 204 and "Max-Age=0" in closed.headers["Set-Cookie"]
    assert client.get_cookie("cunliao_session") is None
    client.set_cookie("cunliao_session", value)  # a stolen copy of the cookie no longer works
    problem(client.get("/api/v1/cases"), 401)


def test_session_of_a_user_who_must_change_the_password(client, login, svc):
    admin = login("admin")
    client.post(f"/api/v1/admin/users/{user_id(svc, 'town')}/password", headers=admin,
                json={"password": "Temp2026pass"})
    web = client.application.test_client()
    opened = web.post("/api/v1/auth/session", json={"username": "town", "password": "Temp2026pass"})
    assert opened.get_json()["must_change_password"] is True
    csrf = {"X-CSRF-Token": opened.get_json()["csrf_token"]}
    problem(web.get("/api/v1/cases"), 403)
    assert web.post("/api/v1/auth/password", headers=csrf,
                    json={"old": "Temp2026pass", "new": "Zhen2026pass"}).status_code == 204
    assert web.get("/api/v1/cases").status_code == 200


def test_login_paths_answer_405_for_other_methods(client):
    problem(client.get("/api/v1/auth/session"), 405)
    problem(client.delete("/api/v1/auth/token"), 405)

"""The page routes without a browser: sign-in redirects, no open redirect, roles, caching, language."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import DEMO_PASSWORD

DIST = Path(__file__).resolve().parent.parent / "web" / "static" / "dist"


def sign_in(client, username: str) -> None:
    answer = client.post("/api/v1/auth/session", json={"username": username, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, answer.get_json()


def test_pages_send_strangers_to_the_login_page(client):
    answer = client.get("/cases?village=x")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
                                    "/%2F/evil.example", "/%5Cevil.example", "/%09/evil.example", " //evil.example",
                                    "/\n/evil.example", "javascript:alert(1)", "/%252F/evil.example"])
def test_no_open_redirect_after_sign_in_or_language_switch(client, target):
    answer = client.get("/lang/en", query_string={"next": target})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    page_data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert page_data["params"]["next"] == "/"  # where the sign-in form goes afterwards


def test_a_same_site_next_survives_the_language_switch(client):
    answer = client.get("/lang/en", query_string={"next": "/cases?q=%E5%BC%A0&page=2"})
    assert answer.headers["Location"] == "/cases?q=%E5%BC%A0&page=2"


def test_every_page_and_answer_carries_the_security_headers(client):
    for path in ("/login", "/api/v1/cases", "/healthz", "/api/openapi.json"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == directives["script-src"] == directives["style-src-elem"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin", path
        assert headers["X-Frame-Options"] == "DENY", path


def test_roles_decide_the_pages_and_the_navigation(client):
    sign_in(client, "grid")
    inbox = client.get("/inbox")
    assert inbox.status_code == 200
    page = inbox.get_data(as_text=True)
    assert "待办" in page and 'href="/designer"' not in page and "李网格" in page
    assert client.get("/designer").status_code == 403
    assert client.get("/audit").status_code == 403


@pytest.mark.parametrize("user, start", [("grid", "/inbox"), ("designer", "/designer"), ("auditor", "/audit"),
                                         ("leader", "/cases/led"), ("dept", "/inbox"), ("city", "/inbox"),
                                         ("admin", "/inbox")])
def test_the_start_page_is_one_the_user_may_open(client, user, start):
    assert client.get("/").headers["Location"].startswith("/login")
    sign_in(client, user)
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == start
    assert client.get(start).status_code == 200


def test_english_on_request(client):
    sign_in(client, "designer")
    client.get("/lang/en")
    page = client.get("/designer").get_data(as_text=True)
    assert 'lang="en"' in page and ">Designer<" in page


def test_the_session_cookie_is_httponly_and_the_csrf_cookie_is_strict(client):
    answer = client.post("/api/v1/auth/session", json={"username": "grid", "password": DEMO_PASSWORD})
    cookies = answer.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("cunliao_session="))
    csrf = next(c for c in cookies if c.startswith("cunliao_csrf="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf
    assert csrf.split(";")[0].split("=", 1)[1] == answer.get_json()["csrf_token"]


@pytest.mark.skipif(not (DIST / "login.js").exists(), reason="the web bundle is not built (make web)")
def test_versioned_bundles_are_cached_for_long(client):
    cached = client.get("/ui/static/dist/login.js?v=1")
    assert cached.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "max-age=31536000" not in client.get("/ui/static/dist/login.js").headers.get("Cache-Control", "")


def test_the_favicon_is_served(client):
    for path in ("/favicon.ico", "/ui/static/favicon.svg"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.mimetype == "image/svg+xml", path
        assert b"<svg" in answer.data


def test_the_town_centre_watches_its_villages_cases_on_their_own_page(client):
    """村级办理 (/cases/village): the case list narrowed to handled_at=village, for the town centre only."""
    sign_in(client, "town")
    page = client.get("/cases/village")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="/cases/village"' in text and "村级办理" in text
    page_data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert page_data["params"]["village"] is True
    sign_in(client, "grid")
    assert client.get("/cases/village").status_code == 403
    assert 'href="/cases/village"' not in client.get("/inbox").get_data(as_text=True)

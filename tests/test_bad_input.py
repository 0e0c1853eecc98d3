"""Bad input never yields a 500: every endpoint answers malformed requests with a problem."""
from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"

ENDPOINTS = [
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/definitions"),
    ("POST", "/api/v1/cases"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/1"),
    ("POST", "/api/v1/cases/1/cancel"),
    ("GET", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/abc/complete"),
    ("POST", "/api/v1/messages"),
    ("GET", "/api/v1/definitions/x/versions/1"),
]

BODIES = [
    ("application/json", b"{broken"),
    ("application/json", b"[]"),
    ("application/json", b'"text"'),
    ("application/json", b'{"data": "not an object", "process_key": 5, "name": [], "reason": {}}'),
    ("application/json", b'{"data": {"__class__": 1}, "process_key": "x", "correlation": 3}'),
    ("application/json", "{\"title\": \"\udcff\"}".encode("utf-8", "surrogatepass")),
    ("text/plain", b"hello"),
    ("multipart/form-data; boundary=zzz", b"--zzz\r\nbroken"),
]

QUERIES = ["?page=0", "?page=abc&page_size=100000", "?status=nonsense", "?limit=-1"]


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_malformed_requests_get_problems_not_500(client, login, method, path):
    headers = login("admin")
    answers = []
    if method == "GET":
        for query in QUERIES:
            answers.append(client.get(path + query, headers=headers))
    else:
        for content_type, body in BODIES:
            answers.append(client.open(path, method=method, headers=headers, data=body, content_type=content_type))
    for response in answers:
        assert response.status_code < 500, (path, response.status_code, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM, (path, response.status_code)
            assert response.get_json()["message"]


@pytest.mark.raises_integrity_error
def test_a_lost_race_on_a_unique_rule_is_a_conflict_not_a_crash(app):
    from sqlalchemy.exc import IntegrityError

    @app.get("/race-for-test")
    def race():
        raise IntegrityError("INSERT …", {}, Exception("duplicate key value violates unique constraint"))

    response = app.test_client().get("/race-for-test")
    assert response.status_code == 409 and response.mimetype == PROBLEM and response.get_json()["message"]

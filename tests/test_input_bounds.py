"""Input bounds: dates, numbers, JSON size and depth, Unicode and jurisdictions are checked before
they reach the database, each answered with a problem a person can act on, never a 500."""
from __future__ import annotations

import pytest

from .test_api import upload

PROBLEM = "application/problem+json"


def refused(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM and response.get_json()["message"]
    return response.get_json()


@pytest.mark.parametrize("url", [
    "/api/v1/stats/safety-ratings?period=0000", "/api/v1/stats/safety-ratings?period=0000-01",
    "/api/v1/prevention/patrol-hours?month=0000-01", "/api/v1/stats/kpis?from=0001-01-01",
    "/api/v1/cases?created_from=0001-01-01T00:00:00", "/api/v1/census/visit-hours?date=0001-01-01",
])
def test_dates_and_periods_before_2000_are_refused(client, login, url):
    refused(client.get(url, headers=login("admin")), 422)


def test_numbers_beyond_the_database_are_refused(client, login):
    admin = login("admin")
    huge = "9" * 30
    refused(client.get(f"/api/v1/cases/{huge}", headers=admin), 404)
    refused(client.get(f"/api/v1/cases/{2**31}/events", headers=admin), 404)
    refused(client.get(f"/api/v1/cases?page={huge}", headers=admin), 422)
    refused(client.get(f"/api/v1/cases?page={2**40}", headers=admin), 422)
    refused(client.get(f"/api/v1/census/people?offset={2**63}", headers=admin), 422)
    refused(client.post("/api/v1/census/people", headers=admin, json={
        "grid": "songbu-yangjiawan-1", "name": "张三", "id_no": "421181199001011234", "household_id": 2**40}), 422)


def test_json_is_bounded_before_it_is_parsed(client, login):
    admin = login("admin")
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(client.post("/api/v1/cases", headers=admin, data=deep, content_type="application/json"), 400)
    big = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    refused(client.post("/api/v1/cases/1/comments", headers=admin, data=big, content_type="application/json"), 413)


def test_text_that_is_not_unicode_is_refused(client, login):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid = login("grid")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple", "data": {}}).get_json()
    lone = '{"text": "\\ud800 and more"}'.encode()
    answer = refused(client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, data=lone,
                                 content_type="application/json"), 400)
    assert "无效字符" in answer["message"]
    paired = '{"text": "\\ud83d\\ude00 fine"}'.encode()  # a surrogate pair is one real character
    assert client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, data=paired,
                       content_type="application/json").status_code == 201
    nul = '{"text": "a\\u0000b"}'.encode()  # PostgreSQL keeps no NUL in text
    refused(client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, data=nul,
                        content_type="application/json"), 400)
    refused(client.get("/api/v1/cases?q=a%00b", headers=grid), 400)
    not_utf8 = b'{"text": "\xff\xfe"}'
    refused(client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, data=not_utf8,
                        content_type="application/json"), 400)


@pytest.mark.parametrize("jurisdiction", ["/macheng/songbu/../guishan/", "/macheng/nowhere/", "macheng",
                                          "/macheng/songbu//", "/macheng/guishan/"])
def test_a_case_lies_in_an_existing_unit_of_the_callers_area(client, login, jurisdiction):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    town = login("town")  # 宋埠镇
    refused(client.post("/api/v1/cases", headers=town, json={
        "process_key": "t_simple", "data": {}, "jurisdiction": jurisdiction}), 403, 422)
    started = client.post("/api/v1/cases", headers=town, json={
        "process_key": "t_simple", "data": {}, "jurisdiction": "/macheng/songbu/songbu-yangjiawan/"})
    assert started.status_code == 201


def test_the_openapi_documents_every_error_as_a_problem(client):
    spec = client.get("/api/openapi.json").get_json()
    for name, response in spec["components"]["responses"].items():
        if "content" in response:
            assert list(response["content"]) == [PROBLEM], name
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation.get("responses", {}).items():
                if status == "default" or status.startswith(("4", "5")):
                    assert "$ref" in response or list(response.get("content", {PROBLEM: 0})) == [PROBLEM], (
                        method, path, status)

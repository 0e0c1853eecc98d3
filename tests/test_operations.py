"""Operations in process: health (live/ready), 503 when the database is away, one retry of a read
on a dropped connection, /metrics and who may read it, request ids and masked log lines."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError

from api.core.logs import MaskedJsonFormatter, MaskedTextFormatter, JSON_FIELDS, TEXT_FORMAT, RequestIdFilter
from engine.models import WorkerHeartbeat


def _beat(app, clock, worker_id="w:1", age=timedelta(0)):
    svc = app.extensions["cunliao"]
    with svc.db.write() as session, session.begin():
        session.add(WorkerHeartbeat(worker_id=worker_id, seen_at=clock.now() - age, fired=0))


def test_live_answers_and_ready_needs_a_worker(client, app, clock):
    assert client.get("/healthz/live").status_code == 200
    not_ready = client.get("/healthz/ready")
    assert not_ready.status_code == 503 and not_ready.headers["Retry-After"]
    assert not_ready.get_json()["worker"]["status"] == "absent"
    assert client.get("/healthz").status_code == 200  # degraded, still up
    _beat(app, clock)
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200 and ready.get_json()["database"]["status"] == "ok"
    clock.advance(timedelta(seconds=20))
    assert client.get("/healthz/ready").get_json()["worker"]["status"] == "stale"


@pytest.fixture
def database_away(app):
    """Every statement fails the way a stopped database fails (a connection refused / reset)."""
    engine = app.extensions["cunliao"].db.engine

    def refuse(*_args, **_kw):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    event.listen(engine, "before_cursor_execute", refuse)
    yield
    event.remove(engine, "before_cursor_execute", refuse)


def test_database_away_answers_503_with_retry_after(client, login, app, database_away):
    for response in (client.post("/api/v1/auth/token", json={"username": "grid", "password": "x"}),
                     client.get("/api/v1/cases", headers={"Authorization": "Bearer whatever"})):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert int(response.headers["Retry-After"]) > 0
        assert response.get_json()["message"] == "数据库暂时不可用，请稍后重试"
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/healthz/ready").status_code == 503


def test_a_read_that_lost_its_connection_is_tried_once_more(client, login, app):
    headers = login("grid")
    engine = app.extensions["cunliao"].db.engine
    failures = []

    def drop_once(*_args, **_kw):
        if not failures:
            failures.append(1)
            raise DBAPIError("SELECT", {}, ConnectionResetError("server closed the connection"),
                             connection_invalidated=True)

    event.listen(engine, "before_cursor_execute", drop_once)
    try:
        response = client.get("/api/v1/cases", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", drop_once)
    assert failures and response.status_code == 200, response.get_data(as_text=True)


def test_metrics_from_this_host_or_with_the_token(client, app, clock, monkeypatch):
    _beat(app, clock, "node-a:42", age=timedelta(seconds=3))
    client.get("/healthz/live")
    body = client.get("/metrics").get_data(as_text=True)
    for name in ("cunliao_http_request_duration_seconds_bucket", "cunliao_tasks_open", "cunliao_tasks_overdue",
                 "cunliao_timer_lateness_seconds", "cunliao_outbox_pending", "cunliao_cases_incident"):
        assert name in body
    assert 'route="/healthz/live"' in body
    assert 'cunliao_worker_heartbeat_age_seconds{worker="node-a:42"} 3.0' in body
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and proxied.headers["Content-Type"].startswith("application/problem+json")
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert remote.status_code == 403
    app.extensions["cunliao"].settings.metrics_token = "scrape-me"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.8"},
                      headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_request_id_is_answered_and_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="cunliao.access")
    given = client.get("/healthz/live", headers={"X-Request-Id": "lb-1234"})
    assert given.headers["X-Request-Id"] == "lb-1234"
    made = client.get("/healthz/live", headers={"X-Request-Id": "bad id <script>"})
    assert made.headers["X-Request-Id"] != "bad id <script>" and len(made.headers["X-Request-Id"]) == 32
    access = [r for r in caplog.records if r.name == "cunliao.access"]
    assert access and access[0].route == "/healthz/live" and access[0].status == 200


@pytest.mark.parametrize("formatter", [MaskedJsonFormatter(JSON_FIELDS), MaskedTextFormatter(TEXT_FORMAT)])
def test_log_lines_mask_id_numbers_and_phones(formatter):
    record = logging.LogRecord("api", logging.WARNING, __file__, 1, "party %s phone %s", ("420381198001011234",
                                                                                         "13812345678"), None)
    RequestIdFilter().filter(record)
    line = formatter.format(record)
    assert "420381198001011234" not in line and "13812345678" not in line
    assert "138****5678" in line

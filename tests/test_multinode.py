"""Two nodes on one PostgreSQL, as a province runs them (docs/scaling.md): two `cunliao serve`
(each a gunicorn and a timer worker) on two ports, one database and one shared attachments folder.

What one node does, the other sees: a process deployed on A starts on B; a token or a web session
issued by A works on B; a case started on A is completed step by step on both; an attachment
stored through A is read through B. Timers that fall due while both workers poll fire once each.

PostgreSQL only: SQLite is one machine's embedded database, never shared by nodes. Nothing here
sleeps for timing: every wait polls observable state under a bounded deadline.
"""
from __future__ import annotations

import os
import subprocess
import sys
import multiprocessing
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from engine.db import make_engine
from engine.files import FileStore
from engine.models import CaseEvent, PendingTimer, WorkerHeartbeat

from .conftest import DEMO_PASSWORD, PG_URL, REPEATS, integrity_errors
from .test_e2e_server import _free_port, _token, _wait_until
from .test_serve_supervision import _stop

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tests" / "bench"
PG_ONLY = pytest.mark.skipif(not PG_URL, reason="several nodes share one PostgreSQL database; SQLite serves one "
                                                "machine only (set TEST_DATABASE_URL to run this)")
TIMER_CASES = 12


@pytest.fixture
def nodes(db_url, tmp_path):
    """Two `cunliao serve` nodes on the test database; yields their base URLs (A, B)."""
    shared_files = tmp_path / "attachments"
    with ExitStack() as stack:
        processes = [_serve(db_url, tmp_path, name, shared_files) for name in ("a", "b")]
        for process, _base, _log in processes:
            stack.callback(_stop, process)
        bases = [base for _process, base, _log in processes]
        for base in bases:
            _wait_until(lambda: requests.get(f"{base}/healthz/ready", timeout=15).status_code == 200, f"{base} ready")
        yield bases
    for _process, _base, log_path in processes:
        logged = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        assert not integrity_errors(logged), "\n".join(logged[-80:])
        assert not [line for line in logged if "Traceback" in line], "\n".join(logged[-80:])


def _serve(db_url: str, tmp_path: Path, name: str, shared_files: Path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEMO_PASSWORD": DEMO_PASSWORD, "HOST": "127.0.0.1",
           "PORT": str(port), "SECRET_KEY": f"node-{name}",  # different keys on purpose: nothing may depend on it
           "WORKER_POLL_SECONDS": "0.05", "WEB_WORKERS": "1", "ATTACHMENTS_DIR": str(shared_files),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{name}")}
    log_path = tmp_path / f"serve-{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "cunliao.cli", "serve"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}", log_path


def _deploy(base: str, *names: str) -> None:
    files = [("files", (name, (BENCH / name).read_bytes())) for name in names]
    answer = requests.post(f"{base}/api/v1/definitions", headers=_token(base, "designer"), files=files, timeout=60)
    assert answer.status_code == 201, answer.text


@PG_ONLY
def test_a_case_started_on_node_a_is_completed_on_node_b(nodes):
    a, b = nodes
    _deploy(a, "bench_usertasks.bpmn")
    bearer = _token(a, "mediator")  # issued by A
    session = requests.Session()  # a web session issued by A: a database row, not a node's signed cookie
    signed_in = session.post(f"{a}/api/v1/auth/session", json={"username": "mediator", "password": DEMO_PASSWORD},
                             timeout=10)
    assert signed_in.status_code in (200, 201), signed_in.text
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}

    started = requests.post(f"{b}/api/v1/cases", headers=bearer, json={"process_key": "bench_usertasks"}, timeout=30)
    assert started.status_code == 201, started.text  # deployed on A, started on B: the spec comes from the database
    case = started.json()
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    stored = requests.post(f"{a}/api/v1/cases/{case['id']}/attachments", headers=bearer, timeout=30,
                           files={"file": ("现场照片.png", png, "image/png")})
    assert stored.status_code == 201, stored.text
    read = requests.get(f"{b}/api/v1/attachments/{stored.json()['id']}", headers=bearer, timeout=30)
    assert read.status_code == 200 and read.content == png  # one file store shared by both nodes

    task_id = case["tasks"][0]["id"]
    for step in range(5):  # A, B, A, B, A: bearer on A, the session cookie of A on B
        url = f"{(a, b)[step % 2]}/api/v1/tasks/{task_id}/complete"
        body = {"data": {f"answer_{step}": {"text": f"第{step + 1}步", "by": "mediator"}}}
        answer = (requests.post(url, headers=bearer, json=body, timeout=30) if step % 2 == 0
                  else session.post(url, headers=csrf, json=body, timeout=30))
        assert answer.status_code == 200, answer.text
        tasks = answer.json()["tasks"]
        task_id = tasks[0]["id"] if tasks else None
    assert task_id is None
    final = requests.get(f"{b}/api/v1/cases/{case['id']}", headers=bearer, timeout=30).json()
    assert final["status"] == "completed" and final["version"] >= 5
    again = requests.post(f"{a}/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=bearer, timeout=30,
                          json={"data": {"answer_0": {"text": "重复", "by": "mediator"}}})
    assert again.status_code in (404, 409) and again.headers["Content-Type"].startswith("application/problem+json")


@PG_ONLY
def test_due_timers_fire_once_each_with_two_workers_polling(nodes, db_url):
    a, b = nodes
    engine = make_engine(db_url)
    try:
        # Both nodes' timer workers are up (each stamps its own heartbeat row).
        _wait_until(lambda: _count(engine, select(func.count()).select_from(WorkerHeartbeat)) >= 2, "two workers")
        _deploy(b, "bench_timer.bpmn")
        token = _token(a, "mediator")
        for round_ in range(REPEATS):
            # Started on both nodes; every timer falls due within about a second of the others, while
            # both workers claim due timers every 50 ms.
            ids = [requests.post(f"{(a, b)[i % 2]}/api/v1/cases", headers=token, timeout=30,
                                 json={"process_key": "bench_timer", "data": {"wait": "PT1S"}}).json()["id"]
                   for i in range(TIMER_CASES)]
            pending = select(func.count()).select_from(PendingTimer).where(PendingTimer.case_id.in_(ids))
            _wait_until(lambda: _count(engine, pending) == 0, f"round {round_}: every timer to fire")
            fired = select(CaseEvent.case_id, func.count()).where(
                CaseEvent.case_id.in_(ids), CaseEvent.type == "timer_fired").group_by(CaseEvent.case_id)
            with engine.connect() as conn:
                counts = dict(conn.execute(fired).all())
            assert counts == {case_id: 1 for case_id in ids}
            for i, case_id in enumerate(ids):  # and each case moved on to its user task, seen from either node
                case = requests.get(f"{(b, a)[i % 2]}/api/v1/cases/{case_id}", headers=token, timeout=30).json()
                assert [t["name"] for t in case["tasks"]] == ["到期后办理"], case
    finally:
        engine.dispose()


def _count(engine, query) -> int:
    with engine.connect() as conn:
        return conn.scalar(query)


def test_two_writers_storing_the_same_file_at_once_never_collide(tmp_path):
    """Two nodes on one shared folder may store the same evidence at the same moment: each writes
    its own temporary file and the renames land the same bytes (runs on any database)."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(REPEATS):
        store = FileStore(tmp_path / f"shared{round_}")
        content = os.urandom(4 * 1024 * 1024)
        barrier, failures = ctx.Barrier(6), ctx.Queue()
        writers = [ctx.Process(target=_put, args=(store, content, barrier, failures)) for _ in range(6)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=60)
        assert [w.exitcode for w in writers] == [0] * 6, failures.get(timeout=5)
        digest = store.put(content)
        assert store.read(digest) == content
        assert [p.name for p in store.path(digest).parent.iterdir()] == [digest]  # no temporary file left behind


def _put(store: FileStore, content: bytes, barrier, failures) -> None:
    try:
        barrier.wait(timeout=30)
        store.put(content)
    except BaseException as exc:  # reported to the test through the queue and the exit code
        failures.put(repr(exc))
        raise SystemExit(1)


def test_statistics_read_from_the_replica_and_commands_from_the_primary(settings, clock):
    """DATABASE_REPLICA_URL takes the statistics (the dashboard's reads) off the primary: with a
    replica that cannot be reached, the dashboard answers 503 and the case work goes on (any database)."""
    from dataclasses import replace

    from cunliao.app import create_app

    away = replace(settings, replica_url="postgresql://nobody@127.0.0.1:1/no_replica")
    application = create_app(away, clock)
    try:
        client = application.test_client()
        answer = client.post("/api/v1/auth/token", json={"username": "city", "password": DEMO_PASSWORD})
        city = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        assert client.get("/api/v1/cases", headers=city).status_code == 200
        assert client.get("/api/v1/tasks", headers=city).status_code == 200
        for path in ("/api/v1/stats/kpis", "/api/v1/stats/safety-ratings?period=2026"):
            down = client.get(path, headers=city)
            assert down.status_code == 503 and down.headers["Retry-After"], (path, down.get_json())
            assert down.mimetype == "application/problem+json"
    finally:
        application.extensions["cunliao"].db.dispose()

    same = create_app(replace(settings, replica_url=settings.database_url), clock)  # a replica in step
    try:
        client = same.test_client()
        answer = client.post("/api/v1/auth/token", json={"username": "city", "password": DEMO_PASSWORD})
        city = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        assert client.get("/api/v1/stats/kpis", headers=city).status_code == 200
    finally:
        same.extensions["cunliao"].db.dispose()


@PG_ONLY
def test_prepared_statements_can_be_turned_off_for_pgbouncer(monkeypatch, db_url):
    """Behind PgBouncer in transaction mode (before 1.21) psycopg must not prepare statements on the
    server: DATABASE_PREPARED_STATEMENTS=0 (docs/scaling.md, section 6)."""
    for setting, expected in (("0", None), ("1", 5)):
        monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", setting)
        engine = make_engine(db_url)
        try:
            with engine.connect() as conn:
                assert conn.connection.dbapi_connection.prepare_threshold == expected
        finally:
            engine.dispose()

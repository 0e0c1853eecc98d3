"""End to end: `cunliao serve` (gunicorn with 2 workers plus the timer worker) on a real port. Its
log must show no IntegrityError."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .conftest import DEMO_PASSWORD, FIXTURES, REPEATS, UNSETTLED, integrity_errors

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, what: str, limit: float = 60.0):
    """Poll for readiness: the limit is a safety net, not an expectation of speed."""
    deadline = time.monotonic() + limit
    while True:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException:  # not listening yet, or busy booting its workers
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(db_url, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEMO_PASSWORD": DEMO_PASSWORD, "HOST": "127.0.0.1",
           "PORT": str(port), "SECRET_KEY": "e2e", "WORKER_POLL_SECONDS": "0.1"}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "cunliao.cli", "serve"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: requests.get(f"{base}/healthz", timeout=15).status_code == 200, "the server")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    logged = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    assert not integrity_errors(logged), "\n".join(logged[-80:])


def _token(base: str, username: str) -> dict[str, str]:
    response = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD},
                             timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_serve_runs_api_and_timer_worker(server):
    health = _wait_until(lambda: (b := requests.get(f"{server}/healthz", timeout=5).json())["worker"]["status"] == "ok"
                         and b, "the timer worker's heartbeat")
    assert health["database"]["status"] == "ok"

    designer = _token(server, "designer")
    files = [("files", (name, (FIXTURES / name).read_bytes())) for name in ("t_simple.bpmn", "t_register.schema.json")]
    deployed = requests.post(f"{server}/api/v1/definitions", headers=designer, files=files, timeout=30)
    assert deployed.status_code == 201, deployed.text

    grid, mediator = _token(server, "grid"), _token(server, "mediator")
    case = requests.post(f"{server}/api/v1/cases", headers=grid, json={"process_key": "t_simple"}, timeout=10).json()
    task_id = case["tasks"][0]["id"]
    bad = requests.post(f"{server}/api/v1/tasks/{task_id}/complete", headers=grid, json={"data": {"amount": -5}},
                        timeout=10)
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert set(bad.json()["errors"]) == {"summary", "amount"}
    done = requests.post(f"{server}/api/v1/tasks/{task_id}/complete", headers=grid,
                         json={"data": {"summary": "邻里纠纷", "amount": 5000}}, timeout=10)
    assert done.status_code == 200 and done.json()["data"]["risk"] == "high"
    [mine] = requests.get(f"{server}/api/v1/tasks", headers=mediator, timeout=10).json()
    assert mine["case_no"] == case["case_no"]
    assert requests.get(f"{server}/api/docs", timeout=10).status_code == 200
    garbage = requests.post(f"{server}/api/v1/cases", headers={**grid, "Content-Type": "application/json"},
                            data=b"{broken", timeout=10)
    assert garbage.status_code in (400, 422) and garbage.headers["Content-Type"].startswith("application/problem+json")


def test_thirty_concurrent_starts_each_answer_201_and_start_one_receiver(server, db_url):
    """Each start throws the message that starts a case; the web delivers it right after the
    commit while the serve's timer worker dispatches the outbox too."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from engine.db import make_engine
    from engine.models import Case

    designer, grid = _token(server, "designer"), _token(server, "grid")
    files = [("files", (name, (FIXTURES / name).read_bytes())) for name in ("t_convert.bpmn", "t_lead_start.bpmn")]
    assert requests.post(f"{server}/api/v1/definitions", headers=designer, files=files, timeout=30).status_code == 201
    engine = make_engine(db_url)

    def stored(key):
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Case).where(Case.process_key == key))

    def unsettled():
        with engine.connect() as conn:
            return conn.scalar(UNSETTLED)

    try:
        for round_ in range(REPEATS):
            def start(i):
                return requests.post(f"{server}/api/v1/cases", headers=grid, timeout=60, json={
                    "process_key": "t_convert", "data": {"summary": f"线索{round_}-{i}", "source_ref": f"{round_}-{i}"}})
            with ThreadPoolExecutor(max_workers=30) as pool:
                answers = list(pool.map(start, range(30)))
            assert [a.status_code for a in answers] == [201] * 30, [a.text for a in answers if a.status_code != 201]
            _wait_until(lambda: unsettled() == 0, "every thrown message to settle")
            assert (stored("t_convert"), stored("t_lead_start")) == (30 * (round_ + 1),) * 2
    finally:
        engine.dispose()

"""30 people start a lead at once, each lead throwing the message that starts its case, while the
worker dispatches too: every start answers 201 and exactly one case results per lead (threads
against the WSGI app here; a real gunicorn in test_e2e_server.py)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from engine.models import Case
from engine.worker import TimerWorker

from .conftest import REPEATS, UNSETTLED, deploy
from .test_exactly_once import together

pytestmark = pytest.mark.usefixtures("verify_all_cases")

STARTS = 30


def settle(svc, deadline_s: float = 60.0) -> None:
    """Poll until every thrown message is settled (the worker and the web deliver them)."""
    deadline = time.monotonic() + deadline_s
    while True:
        with svc.db.read() as session:
            left = session.scalar(UNSETTLED)
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} messages still unsettled"
        time.sleep(0.05)


@pytest.fixture
def dispatching_worker(app):
    """A timer worker dispatching the outbox beside the web, as `cunliao serve` runs one."""
    svc = app.extensions["cunliao"]
    worker = TimerWorker(svc.cases, worker_id="test-worker", poll_seconds=0.01)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield worker
    worker.stop.set()
    thread.join(timeout=30)


def test_thirty_concurrent_starts_answer_201_and_start_thirty_receivers(app, login, dispatching_worker):
    svc = app.extensions["cunliao"]
    deploy(svc, "t_convert.bpmn", "t_lead_start.bpmn")
    headers = login("grid")
    for round_ in range(REPEATS):
        def start(i):
            return lambda: app.test_client().post("/api/v1/cases", headers=headers, json={
                "process_key": "t_convert", "data": {"summary": f"线索{round_}-{i}", "source_ref": f"{round_}-{i}"}})
        answers = together(*[start(i) for i in range(STARTS)])
        assert [a.status_code for a in answers] == [201] * STARTS, [a.get_json() for a in answers
                                                                    if a.status_code != 201]
        settle(svc)
        with svc.db.read() as session:
            def started(key):
                return session.scalar(select(func.count()).select_from(Case).where(Case.process_key == key))
            assert (started("t_convert"), started("t_lead_start")) == (STARTS * (round_ + 1),) * 2
            refs = select(Case.data["source_ref"].as_string()).where(Case.process_key == "t_lead_start")
            assert len(set(session.scalars(refs))) == STARTS * (round_ + 1)

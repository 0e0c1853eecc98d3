"""What the processes of test_exactly_once_processes.py run: each builds its own services on the
test database, then does its part of every round the moment its rival is ready too.

Importable by a freshly spawned interpreter: module-level functions only.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from api.core.config import Settings
from api.core.services import build_services
from engine.clock import FakeClock
from engine.models import MessageOutbox


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _services(url: str, at: str):
    logging.basicConfig(level=logging.WARNING)
    handler = _Lines()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("engine", "api"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(handler)
    return build_services(Settings(database_url=url), FakeClock(datetime.fromisoformat(at))), handler


def _outcome(call) -> Any:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 (reported to the test, which fails on it)
        return f"{type(exc).__name__}: {exc}"


def deliver_outbox_rows(role: str, url: str, at: str, row_ids: list[int], barrier, results) -> None:
    """``web`` delivers as a command does right after its commit; ``worker`` as the worker's round."""
    svc, log = _services(url, at)
    outcomes = []
    for row_id in row_ids:
        with svc.db.read() as session:
            row = session.get(MessageOutbox, row_id)
        barrier.wait(timeout=60)
        if role == "web":
            outcomes.append(_outcome(lambda: svc.cases._dispatch_after_commit([row_id])))
        else:
            outcomes.append(_outcome(lambda: svc.cases.dispatch_one(row)))
    svc.db.dispose()
    results.put((role, outcomes, log.lines))


def deliver_same_keys(role: str, url: str, at: str, case_nos: list[str], barrier, results) -> None:
    """Push ``outcome_submitted`` to each case with the key ``key:<case_no>``; answer the case ids."""
    svc, log = _services(url, at)
    outcomes = []
    for case_no in case_nos:
        barrier.wait(timeout=60)
        outcomes.append(_outcome(lambda: [v.case.id for v in svc.cases.deliver_message(
            "outcome_submitted", {"case_no": case_no}, {"result": role}, f"key:{case_no}", role)]))
    svc.db.dispose()
    results.put((role, outcomes, log.lines))

"""The timer worker: fires due timers, forever, and says it is alive.

Several workers may run at once; ``CaseService.fire_due_timers`` claims rows with a short lease so
that each timer fires once (engine/timers.py). While a round fires, a lease keeper thread renews
this worker's claims; when the worker stops it gives them back, and when it is killed they lapse
within ``TIMER_LEASE``. A failure in one round is logged and the loop goes on: one bad case must
not stop every other case's deadlines.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime
from typing import Callable

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from .cases import CaseService
from .models import WorkerHeartbeat
from .timers import TIMER_RENEW_EVERY

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 5.0


def default_worker_id(pid: int | None = None) -> str:
    """``host:pid``: whoever started the worker process can name its claims (the supervisor does)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


class TimerWorker:
    def __init__(self, cases: CaseService, worker_id: str | None = None, poll_seconds: float = 0.2,
                 jobs: list[Callable[[], int]] | None = None) -> None:
        self.cases = cases
        # Other periodic rounds the app wants run (overdue notices, the notification gateway).
        self.jobs = list(jobs or [])
        self.worker_id = worker_id or default_worker_id()
        self.poll_seconds = poll_seconds
        self.stop = threading.Event()
        self._firing = threading.Event()   # set while a round holds timer claims
        self._fired_since_beat = 0
        self._last_beat: datetime | None = None

    def run(self) -> None:
        log.info("timer worker %s started (poll %.2fs)", self.worker_id, self.poll_seconds)
        done = threading.Event()
        keeper = threading.Thread(target=self._keep_leases, args=(done,), name="timer-leases", daemon=True)
        keeper.start()
        try:
            while not self.stop.is_set():
                fired = self.run_once()
                if fired == 0:
                    self.stop.wait(self.poll_seconds)
        finally:
            done.set()
            keeper.join()
            self._release_claims()
        log.info("timer worker %s stopped", self.worker_id)

    def run_once(self) -> int:
        try:
            self._firing.set()
            try:
                fired = self.cases.fire_due_timers(self.worker_id)
            finally:
                self._firing.clear()
            # Messages whose delivery was cut short (a crash after the sender's commit) go out here.
            fired += self.cases.dispatch_outbox()
            for job in self.jobs:
                job()
        except SQLAlchemyError:
            log.exception("timer round failed; retrying")
            self.stop.wait(min(5.0, self.poll_seconds * 10))
            return 0
        self._fired_since_beat += fired
        self._beat()
        return fired

    def _keep_leases(self, done: threading.Event) -> None:
        while not done.wait(TIMER_RENEW_EVERY.total_seconds()):
            if self._firing.is_set():
                try:
                    self.cases.renew_claims(self.worker_id)
                except SQLAlchemyError:
                    log.warning("renewing timer claims failed; they lapse unless the next renewal lands", exc_info=True)

    def _release_claims(self) -> None:
        try:
            self.cases.release_claims(self.worker_id)
        except SQLAlchemyError:
            log.warning("giving back timer claims failed; they lapse on their own", exc_info=True)

    def _beat(self) -> None:
        now = self.cases.clock.now()
        if self._last_beat and (now - self._last_beat).total_seconds() < HEARTBEAT_EVERY_SECONDS:
            return
        try:
            with self.cases.db.write() as session, session.begin():
                updated = session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                                          .values(seen_at=now, fired=WorkerHeartbeat.fired + self._fired_since_beat))
                if updated.rowcount == 0:
                    session.add(WorkerHeartbeat(worker_id=self.worker_id, seen_at=now, fired=self._fired_since_beat))
            self._fired_since_beat = 0
            self._last_beat = now
        except SQLAlchemyError:
            log.exception("heartbeat failed")

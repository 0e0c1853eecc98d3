"""Timers: firing the due ones, once, across any number of workers, and soon after a worker dies.

A worker claims due rows of ``pending_timers`` with a short lease (``TIMER_LEASE``), renews the
lease while it works (``renew_claims``, from the worker's lease keeper) and gives its claims back
when it stops (``release_claims``). A worker killed while holding claims holds them only until the
lease runs out; then the next worker's round takes them. The lease only saves work: a timer fires
once because its firing is a case write under the version check, so a worker that fires a timer
another already fired finds nothing due, or loses the write with Stale and reads again.

A command on a case whose timer is due but not yet fired (a completion landing just after the
deadline) fires the timer first, as its own ``timer_fired`` event (``_fire_due_timers_first``).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from . import clock, runtime, steps
from .errors import Stale
from .models import Case, PendingTimer
from .steps import OPEN_STATUSES
from .store import NewEvent

log = logging.getLogger(__name__)

# Short, because a dead worker's timers wait this long; renewed every TIMER_RENEW_EVERY while working.
TIMER_LEASE = timedelta(seconds=1)
TIMER_RENEW_EVERY = TIMER_LEASE / 3
CLAIM_BATCH = 20
FIRE_ATTEMPTS = 3


def release_worker_claims(db, worker_id: str) -> int:
    """Give back every claim of ``worker_id``: by the worker itself when it stops, or by whoever saw
    it die (``cunliao serve``'s supervisor), so its timers need not wait out the lease."""
    with db.write_engine.begin() as conn:
        return conn.execute(update(PendingTimer).where(PendingTimer.locked_by == worker_id)
                            .values(locked_until=None, locked_by=None)).rowcount


class TimerCommands:
    """Mixed into CaseService; uses its snapshot/change/commit plumbing."""

    def fire_due_timers(self, worker_id: str = "worker", limit: int = CLAIM_BATCH) -> int:
        """Fire every timer due by now (up to ``limit`` claims); safe in several processes at once."""
        now = self.clock.now()
        case_ids = self._claim_timers(now, worker_id, limit)
        for case_id in case_ids:
            for _attempt in range(FIRE_ATTEMPTS):
                try:
                    self._fire_case_timers(case_id, now, worker_id)
                    break
                except Stale:
                    log.info("case %s changed while its timers fired; trying again", case_id)
        return len(case_ids)

    def renew_claims(self, worker_id: str) -> int:
        """Extend this worker's leases; returns how many it still holds."""
        with self.db.write_engine.begin() as conn:
            return conn.execute(update(PendingTimer).where(PendingTimer.locked_by == worker_id)
                                .values(locked_until=self.clock.now() + TIMER_LEASE)).rowcount

    def release_claims(self, worker_id: str) -> int:
        """Give back this worker's claims (it is stopping): other workers fire them right away."""
        return release_worker_claims(self.db, worker_id)

    # -- claims and firing -----------------------------------------------------------------------

    def _claim_timers(self, now: datetime, worker_id: str, limit: int) -> list[int]:
        with self.db.write() as session, session.begin():
            due = (select(PendingTimer.id, PendingTimer.case_id).join(Case, Case.id == PendingTimer.case_id)
                   .where(PendingTimer.due_at < now, Case.status.in_(OPEN_STATUSES),
                          (PendingTimer.locked_until.is_(None)) | (PendingTimer.locked_until < now))
                   .order_by(PendingTimer.due_at).limit(limit))
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=PendingTimer)
            rows = session.execute(due).all()
            if not rows:
                return []
            session.execute(update(PendingTimer).where(PendingTimer.id.in_([r.id for r in rows]))
                            .values(locked_until=now + TIMER_LEASE, locked_by=worker_id))
            return sorted({r.case_id for r in rows})

    def _fire_case_timers(self, case_id: int, now: datetime, worker_id: str | None = None):
        """Fire the case's due timers; the case's view after the firing, or None if none was due."""
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id, read_index=True)
        fired, incident = [], None
        if snapshot.case.status in OPEN_STATUSES:
            with clock.pinned(now):
                fired, incident = steps.fire_timers(snapshot.workflow)
        if not fired:
            # Another worker, or a command on the case, fired them first: nothing to write but
            # giving the claims back.
            self._release_case_claims(case_id, worker_id)
            return None
        event = NewEvent("timer_fired", "timer", now, {"timers": [runtime.spec_key(t) for t in fired]})
        # Rewriting every timer row of the case also releases this worker's claims.
        return self._commit(self._change(snapshot, incident, now, "timer", events=[event]), snapshot)

    def _release_case_claims(self, case_id: int, worker_id: str | None) -> None:
        claimed = PendingTimer.locked_by == worker_id if worker_id else PendingTimer.locked_by.is_not(None)
        with self.db.write_engine.begin() as conn:
            conn.execute(update(PendingTimer).where(PendingTimer.case_id == case_id, claimed)
                         .values(locked_until=None, locked_by=None))

    def _fire_due_timers_first(self, snapshot, now: datetime) -> tuple[list[NewEvent], dict | None]:
        """Before a command acts on a case: fire the timers that fell due and no worker has fired
        yet, as their own event, so the log (and replay) has the firing before the command."""
        if not any(t.due_at < now for t in snapshot.timers.values()):
            return [], None
        with clock.pinned(now):
            fired, incident = steps.fire_timers(snapshot.workflow)
        if not fired:
            return [], incident
        return [NewEvent("timer_fired", "timer", now, {"timers": [runtime.spec_key(t) for t in fired]})], incident

"""Timer claims are short leases: renewed while a worker works, given back when it stops, lapsing
soon after it dies, so its timers fire within moments of the lease's end (on the fake clock)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.models import CaseEvent, PendingTimer
from engine.timers import TIMER_LEASE
from engine.worker import TimerWorker

from .conftest import deploy

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
POLL = timedelta(seconds=0.2)   # the worker's default poll interval
TICK = timedelta(milliseconds=1)


def start_timers(svc, clock, count: int, spread: timedelta = timedelta(0)) -> list[int]:
    """``count`` cases whose 2-hour deadline timers fall due ``spread`` apart."""
    deploy(svc, "t_timer.bpmn")
    ids = []
    for _ in range(count):
        ids.append(svc.cases.start("t_timer", {}, "tester", VILLAGE).case.id)
        clock.advance(spread)
    return ids


def firings(svc) -> dict[int, list]:
    with svc.db.read() as session:
        rows = session.execute(select(CaseEvent.case_id, CaseEvent.at).where(CaseEvent.type == "timer_fired")).all()
    fired: dict[int, list] = {}
    for case_id, at in rows:
        fired.setdefault(case_id, []).append(at)
    return fired


def test_a_dead_workers_claims_lapse_with_the_lease_and_the_next_round_fires_them(svc, clock):
    start_timers(svc, clock, 5)
    clock.advance(hours=2, seconds=1)
    claimed_at = clock.now()
    assert len(svc.cases._claim_timers(claimed_at, "dead", 50)) == 5   # ... and the worker is killed
    clock.set(claimed_at + TIMER_LEASE - TICK)
    assert svc.cases.fire_due_timers("alive") == 0
    clock.set(claimed_at + TIMER_LEASE + TICK)
    assert svc.cases.fire_due_timers("alive") == 5
    assert all(len(at) == 1 for at in firings(svc).values()) and len(firings(svc)) == 5


def test_renewed_claims_stay_with_their_worker(svc, clock):
    start_timers(svc, clock, 2)
    clock.advance(hours=2, seconds=1)
    svc.cases._claim_timers(clock.now(), "busy", 50)
    for _ in range(4):
        clock.advance(TIMER_LEASE * 0.6)
        assert svc.cases.renew_claims("busy") == 2
        assert svc.cases.fire_due_timers("other") == 0


def test_a_stopping_worker_gives_its_claims_back_at_once(svc, clock):
    start_timers(svc, clock, 3)
    clock.advance(hours=2, seconds=1)
    svc.cases._claim_timers(clock.now(), "stopping", 50)
    worker = TimerWorker(svc.cases, worker_id="stopping")
    worker.stop.set()
    worker.run()   # the loop ends at once; its claims go back on the way out
    with svc.db.read() as session:
        assert [t.locked_by for t in session.scalars(select(PendingTimer))] == [None] * 3
    assert svc.cases.fire_due_timers("other") == 3


def test_the_lease_keeper_renews_while_a_round_is_firing(svc, clock, monkeypatch):
    start_timers(svc, clock, 1)
    clock.advance(hours=2, seconds=1)
    worker = TimerWorker(svc.cases, worker_id="slow", poll_seconds=0.01)
    renewed = threading.Event()
    renew = svc.cases.renew_claims

    def counting_renew(worker_id):
        held = renew(worker_id)
        if held:
            renewed.set()
        return held

    fire = svc.cases._fire_case_timers

    def slow_fire(case_id, now, worker_id=None):
        assert renewed.wait(timeout=30), "the lease keeper never renewed the claim"
        fire(case_id, now, worker_id)
        worker.stop.set()

    monkeypatch.setattr(svc.cases, "renew_claims", counting_renew)
    monkeypatch.setattr(svc.cases, "_fire_case_timers", slow_fire)
    worker.run()
    assert len(firings(svc)) == 1


def test_after_a_worker_is_killed_p99_lateness_stays_within_two_seconds(svc, clock):
    """Two workers poll every 0.2 s; one is killed just after claiming a batch. Every timer fires
    once, and p99 of (fired - due) is at most 2 s: the lease, plus a poll."""
    due_first = clock.now() + timedelta(hours=2)
    ids = start_timers(svc, clock, 40, spread=timedelta(milliseconds=50))
    clock.set(due_first - POLL)
    killed = False
    while clock.now() < due_first + timedelta(seconds=10):
        clock.advance(POLL)
        if not killed and clock.now() > due_first + timedelta(seconds=0.5):
            svc.cases._claim_timers(clock.now(), "killed", 10)   # claims, then dies
            killed = True
        svc.cases.fire_due_timers("survivor")
    assert killed
    fired = firings(svc)
    assert sorted(fired) == sorted(ids) and all(len(at) == 1 for at in fired.values())
    with svc.db.read() as session:
        due = {e.case_id: e.at for e in session.scalars(select(CaseEvent).where(CaseEvent.type == "case_started"))}
    lateness = sorted((fired[i][0] - (due[i] + timedelta(hours=2))).total_seconds() for i in ids)
    p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
    assert max(lateness) > POLL.total_seconds()  # the killed worker's timers did wait for the lease
    assert p99 <= 2.0, lateness

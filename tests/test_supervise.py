"""The supervisor's restart rule, driven with explicit instants (no waiting on the wall clock)."""
from __future__ import annotations

import sys

from cunliao.supervise import BACKOFF_FIRST, BACKOFF_MAX, STABLE_AFTER, Child, Supervisor


def _crashing_child(deaths: list[int]) -> Child:
    return Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"], on_death=deaths.append)


def _started_and_dead(supervisor: Supervisor, child: Child, at: float) -> None:
    supervisor._start(child)
    child.started_at = at
    child.process.wait()


def test_a_dead_child_is_cleaned_up_after_and_restarted_with_growing_backoff():
    deaths: list[int] = []
    child = _crashing_child(deaths)
    supervisor = Supervisor([child])
    _started_and_dead(supervisor, child, at=100.0)
    first_pid = child.process.pid

    supervisor._watch(child, 100.5)
    assert deaths == [first_pid] and child.restart_at == 100.5 + BACKOFF_FIRST
    supervisor._watch(child, 100.9)
    assert child.process.pid == first_pid  # still backing off
    supervisor._watch(child, 101.5)
    assert child.restarts == 1 and child.process.pid != first_pid
    child.process.wait()
    child.started_at = 101.5
    supervisor._watch(child, 102.0)
    assert child.restart_at == 102.0 + 2 * BACKOFF_FIRST  # died again at once: twice as long

    child.backoff = BACKOFF_MAX
    supervisor._watch(child, child.restart_at)
    child.process.wait()
    supervisor._watch(child, child.started_at + 1)
    assert child.backoff == BACKOFF_MAX  # capped


def test_a_child_that_stayed_up_starts_the_backoff_anew():
    child = _crashing_child([])
    supervisor = Supervisor([child])
    child.backoff = BACKOFF_MAX
    _started_and_dead(supervisor, child, at=0.0)
    supervisor._watch(child, STABLE_AFTER + 1)
    assert child.restart_at == STABLE_AFTER + 1 + BACKOFF_FIRST


def test_a_failing_cleanup_does_not_stop_the_restart():
    def broken(_pid):
        raise RuntimeError("database away")

    child = Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"], on_death=broken)
    supervisor = Supervisor([child])
    _started_and_dead(supervisor, child, at=0.0)
    supervisor._watch(child, 0.5)
    assert child.restart_at is not None

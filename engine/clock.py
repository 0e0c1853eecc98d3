"""Time, made injectable.

Every engine command runs with the time *pinned*: one instant for the whole command, read by
the timers inside SpiffWorkflow, by the sandbox's ``now()`` helper and by the audit record.
Pinning makes a command deterministic, so replay can rerun it at the recorded instant and tests
can move time forward without sleeping.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from typing import Iterator, Protocol


# Working days and local dates are China Standard Time (no daylight saving).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to; for tests and replay."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta or timedelta(**kwargs))
        return self._now


_pinned: ContextVar[datetime | None] = ContextVar("cunliao_pinned_time", default=None)


def current_time() -> datetime:
    """The pinned time of the running command, else the wall clock."""
    return _pinned.get() or datetime.now(timezone.utc)


@contextlib.contextmanager
def pinned(at: datetime) -> Iterator[datetime]:
    if at.tzinfo is None:
        raise ValueError("pinned time must be timezone-aware")
    token = _pinned.set(at.astimezone(timezone.utc))
    try:
        yield at
    finally:
        _pinned.reset(token)


class _PinnedDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module, whose timers call
    ``datetime.now(timezone.utc)`` and offer no clock hook of their own."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        at = _pinned.get()
        if at is None:
            return datetime.now(tz)
        return at.astimezone(tz) if tz else at.astimezone().replace(tzinfo=None)


def install_spiff_clock() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _PinnedDatetime


def parse_instant(value: str) -> datetime:
    """An ISO-8601 instant; naive values are taken as UTC."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)

"""Deadlines from a table, never from a literal in a diagram.

An SLA rule names a duration (ISO-8601) and a calendar: ``natural`` days or ``working`` days, where
working days skip weekends and public holidays and count make-up working days (调休) from the
calendar table. Rules are versioned by ``effective_from``: a deadline is computed with the rule in
force at the instant it starts, so replaying a case gives the same deadlines after the table changes.

Diagrams reach the table two ways: a user task's ``slaKey`` property sets its due time, and the
expression ``sla_due('key')`` in a timer gives the due instant as an ISO string.
"""
from __future__ import annotations

import threading
import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select

from . import clock
from .db import Database
from .models import CalendarDay, SlaRule

RELOAD_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class Rule:
    key: str
    duration: str
    calendar: str          # natural | working
    effective_from: datetime


class Deadlines:
    """SLA rules and the working calendar, cached in memory and reloaded now and then."""

    def __init__(self, db: Database | None = None, rules: Iterable[Rule] = (),
                 calendar: dict[date, str] | None = None) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._loaded_at = float("-inf") if db is not None else float("inf")
        self._set(list(rules), dict(calendar or {}))

    # -- lookups -------------------------------------------------------------------------------

    def keys(self) -> set[str]:
        self._refresh()
        return set(self._rules)

    def rule(self, key: str, at: datetime) -> Rule:
        self._refresh()
        versions = self._rules.get(key)
        if not versions:
            raise KeyError(f"no SLA rule has the key '{key}'")
        index = bisect_right([r.effective_from for r in versions], at) - 1
        return versions[max(index, 0)]

    def due(self, key: str, start: datetime) -> datetime:
        rule = self.rule(key, start)
        parsed = TimerEventDefinition.parse_iso_duration(rule.duration)
        if rule.calendar != "working":
            return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
        days = int(parsed.pop("days", 0)) + 7 * int(parsed.pop("weeks", 0))
        if parsed.pop("months", 0) or parsed.pop("years", 0):
            raise ValueError(f"SLA '{key}': working-day rules take days or hours, not months")
        return self.add_working_days(start, days) + timedelta(**parsed)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        local = start.astimezone(clock.CHINA)
        current = local
        while days > 0:
            current += timedelta(days=1)
            if self.is_working_day(current.date()):
                days -= 1
        return current.astimezone(start.tzinfo)

    def is_working_day(self, day: date) -> bool:
        self._refresh()
        kind = self._calendar.get(day)
        if kind is not None:
            return kind == "workday"
        return day.weekday() < 5

    # -- script helpers ------------------------------------------------------------------------

    def functions(self) -> dict[str, Callable]:
        """Helpers for the sandbox; they read the command's pinned time."""
        def sla_due(key: str) -> str:
            return self.due(str(key), clock.current_time()).isoformat()

        def working_days_after(value, days: int) -> str:
            start = value if isinstance(value, datetime) else clock.parse_instant(str(value))
            return self.add_working_days(start, int(days)).isoformat()

        return {"sla_due": sla_due, "working_days_after": working_days_after}

    # -- loading -------------------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.db is None or time.monotonic() - self._loaded_at < RELOAD_AFTER_SECONDS:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at < RELOAD_AFTER_SECONDS:
                return
            with self.db.read() as session:
                rules = [Rule(r.key, r.duration, r.calendar, r.effective_from)
                         for r in session.scalars(select(SlaRule))]
                days = {d.day: d.kind for d in session.scalars(select(CalendarDay))}
            self._set(rules, days)
            self._loaded_at = time.monotonic()

    def reload(self) -> None:
        self._loaded_at = float("-inf") if self.db is not None else self._loaded_at
        self._refresh()

    def _set(self, rules: list[Rule], calendar: dict[date, str]) -> None:
        grouped: dict[str, list[Rule]] = {}
        for rule in sorted(rules, key=lambda r: r.effective_from):
            grouped.setdefault(rule.key, []).append(rule)
        self._rules = grouped
        self._calendar = calendar

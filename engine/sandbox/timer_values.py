"""Timer values: ISO-8601 dates, durations and cycles checked against sane bounds, in constant time.

SpiffWorkflow turns ``P99999999Y`` into a timedelta by walking month by month (a billion steps, outside any
limit) and compares whatever a timer expression gives without checking its type, so a date given as a
duration raised a bare ``Exception``. Every timer value passes through here first: literals when a definition
is deployed, computed values when the timer starts. A value that passes comes back in a canonical form that
SpiffWorkflow's own parser reads to the same instant (its month arithmetic then walks at most 120 months).

Bounds (:data:`BOUNDS`): no date after 2100, no duration or cycle period longer than ten years, no cycle period
under one minute, 1 to 1,000 repetitions (an unbounded ``R/…`` is refused); a cycle whose start is past
begins at its next slot instead of firing every missed time at once.

Errors are :class:`SandboxError`: kind ``error`` for a value that is not what the timer needs,
``out_of_bounds`` for one beyond the bounds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .guards import SandboxError


@dataclass(frozen=True)
class TimerBounds:
    latest: datetime = datetime(2100, 1, 1, tzinfo=timezone.utc)
    # Ten calendar years hold at most three leap days, so 'P10Y' always fits.
    longest: timedelta = timedelta(days=3653)
    shortest_period: timedelta = timedelta(minutes=1)
    max_repetitions: int = 1000


BOUNDS = TimerBounds()
KINDS = ('timeDate', 'timeDuration', 'timeCycle')

_NUMBER = r'\d+(?:[.,]\d+)?'
_DURATION = re.compile(rf'P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>{_NUMBER})W)?'
                       rf'(?:(?P<days>{_NUMBER})D)?(?:T(?=\d)(?:(?P<hours>{_NUMBER})H)?'
                       rf'(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?')
_TIME = r'(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?'
_DATE_TIME = re.compile(rf'\d{{4}}-\d{{2}}-\d{{2}}{_TIME}')
_ISO_WEEK = re.compile(rf'\d{{4}}-?W\d{{2}}-?\d{_TIME}')
_CYCLE = re.compile(r'R\d*/[^/\s]+(?:/[^/\s]+)?')
_MAX_TEXT = 100
_SECONDS = {'weeks': 604_800, 'days': 86_400, 'hours': 3_600, 'minutes': 60, 'seconds': 1}


def _invalid(message: str) -> SandboxError:
    return SandboxError(message, 'error')


def _out_of_bounds(message: str) -> SandboxError:
    return SandboxError(message, 'out_of_bounds')


def literal(expression: str | None) -> str | None:
    """The value of a timer written as bare ISO-8601 text (``P3D``, ``2026-05-01T09:00``, ``R3/PT1H``), as other
    modelling tools write them; None when the text is an expression to evaluate (``"P3D"``, a name, a call)."""
    text = (expression or '').strip()
    if len(text) > _MAX_TEXT:
        return None
    upper = text.upper().replace('--', '/')
    return text if any(p.fullmatch(upper) for p in (_DURATION, _DATE_TIME, _ISO_WEEK, _CYCLE)) else None


_EXAMPLES = {'duration': '"P3D"', 'date': '"2026-05-01T09:00:00+08:00"', 'cycle': '"R3/P1D"'}


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _invalid(f'a timer {what} must be ISO-8601 text such as {_EXAMPLES[what]}, not {type(value).__name__}')
    text = value.strip()
    if not text or len(text) > _MAX_TEXT:
        raise _invalid(f'{value[:40]!r} is not an ISO-8601 {what}')
    return text


# -- durations -----------------------------------------------------------------------------------------------

def _duration_parts(value: Any) -> tuple[int, float, float]:
    """(calendar months, days, seconds) of an ISO-8601 duration, before any calendar arithmetic."""
    text = _text(value, 'duration').upper()
    match = _DURATION.fullmatch(text)
    if not match:
        if _DATE_TIME.fullmatch(text) or _ISO_WEEK.fullmatch(text):
            raise _invalid(f'{value!r} is a date, not a duration: a duration looks like "P3D", "PT2H" or "P1M" '
                           '(for a fixed date use a timeDate timer)')
        raise _invalid(f'{value!r} is not an ISO-8601 duration such as "P3D", "PT2H" or "P1M"')
    parts = {k: float(v.replace(',', '.')) for k, v in match.groupdict().items() if v}
    months = 12 * parts.pop('years', 0) + parts.pop('months', 0)
    seconds = round(sum(parts.get(unit, 0) * size for unit, size in _SECONDS.items()), 6)
    # A rough bound first, so that huge numbers never reach the calendar.
    if months * 31 * 86_400 + seconds > 2 * BOUNDS.longest.total_seconds():
        raise _out_of_bounds(f'duration {value!r} is longer than the limit of ten years')
    return int(months), seconds // 86_400, seconds % 86_400


def _month_start(year: int, month: int, shift: int) -> date:
    year, month = divmod(year * 12 + month - 1 + shift, 12)
    return date(year, month + 1, 1)


def _checked(delta: timedelta, value: Any) -> timedelta:
    if delta > BOUNDS.longest:
        raise _out_of_bounds(f'duration {value!r} is longer than the limit of ten years')
    return delta


def duration_after(start: datetime, value: Any) -> timedelta:
    """Duration ``value`` counted from ``start``: a month is the calendar month it covers, as SpiffWorkflow
    counts (P1M from 31 January is 28 or 29 days)."""
    months, days, seconds = _duration_parts(value)
    month_days = (_month_start(start.year, start.month, months) - _month_start(start.year, start.month, 0)).days
    return _checked(timedelta(days=month_days + days, seconds=seconds), value)


def duration_before(end: datetime, value: Any) -> timedelta:
    """Duration ``value`` counted back from ``end`` (the months before the end's month)."""
    months, days, seconds = _duration_parts(value)
    month_days = (_month_start(end.year, end.month, 0) - _month_start(end.year, end.month, -months)).days
    return _checked(timedelta(days=month_days + days, seconds=seconds), value)


def _canonical_duration(value: Any) -> str:
    months, days, seconds = _duration_parts(value)
    return f'P{months}M{int(days)}DT{_decimal(seconds)}S'


def _seconds(delta: timedelta) -> str:
    return f'P0M0DT{_decimal(delta.total_seconds())}S'


def _decimal(number: float) -> str:
    return f'{number:.6f}'.rstrip('0').rstrip('.')


def duration_value(value: Any, now: datetime) -> str:
    """A ``timeDuration`` value, checked; in the canonical form ``P<months>M<days>DT<seconds>S``."""
    duration_after(now, value)
    return _canonical_duration(value)


# -- dates and cycles ----------------------------------------------------------------------------------------

def instant(value: Any) -> datetime:
    """A timer date: ISO date-time or week date (naive values are local time, as SpiffWorkflow reads them)."""
    if isinstance(value, datetime):
        value = value.isoformat()
    text = _text(value, 'date')
    if text.upper().startswith('P'):
        raise _invalid(f'{value!r} is a duration, not a date: a date looks like "2026-05-01T09:00:00+08:00" '
                       '(for a wait use a timeDuration timer)')
    try:
        # The same dispatch as SpiffWorkflow's parse_time_or_duration.
        when = (TimerEventDefinition.parse_iso_week(text) if 'W' in text.upper()
                else TimerEventDefinition.get_datetime(text))
    except (ValueError, TypeError, AttributeError, OverflowError):
        raise _invalid(f'{value!r} is not an ISO-8601 date such as "2026-05-01T09:00:00+08:00"') from None
    if when > BOUNDS.latest:
        raise _out_of_bounds(f'date {value!r} is after the latest allowed date, {BOUNDS.latest.date()}')
    return when


def date_value(value: Any) -> str:
    """A ``timeDate`` value, checked; as an ISO date-time with its offset."""
    return instant(value).isoformat()


def cycle(value: Any, now: datetime) -> tuple[int, datetime, timedelta, str]:
    """(repetitions, first firing, period, canonical text) of an ISO-8601 repeating interval: ``R3/PT1H``
    (first firing one period from now), ``R3/2026-05-01T09:00/P1D`` or ``R3/P1D/2026-05-31T09:00``. A start
    already past moves on to its next slot: missed firings are skipped, never fired in a burst."""
    text = _text(value, 'cycle').upper().replace('--', '/')
    if not _CYCLE.fullmatch(text):
        raise _invalid(f'{value!r} is not an ISO-8601 cycle such as "R3/P1D" (three times, once a day)')
    count, *parts = text.split('/')
    if count == 'R':
        raise _out_of_bounds(f'cycle {value!r} repeats without end: give the number of repetitions, e.g. '
                             f'"R10/P1D" (at most {BOUNDS.max_repetitions})')
    repetitions = int(count[1:])
    if not 1 <= repetitions <= BOUNDS.max_repetitions:
        raise _out_of_bounds(f'cycle {value!r} repeats {repetitions} times; allowed: 1 to {BOUNDS.max_repetitions}')
    first, *second = parts
    if not second:
        period = duration_after(now, first)
        start = now + period
    elif first.startswith('P'):
        end = instant(second[0])
        period = duration_before(end, first)
        start = end - period
    else:
        start = instant(first)
        period = duration_after(start, second[0])
    if period < BOUNDS.shortest_period:
        raise _out_of_bounds(f'cycle {value!r} repeats more often than once a minute')
    if start < now:
        # SpiffWorkflow would fire every missed time at once, one per refresh: start at the next slot instead.
        start += -((start - now) // period) * period
    # An explicit start and the period in seconds: SpiffWorkflow reads back exactly this schedule.
    return repetitions, start, period, f'R{repetitions}/{start.isoformat()}/{_seconds(period)}'


def cycle_value(value: Any, now: datetime) -> str:
    """A ``timeCycle`` value, checked; in canonical form."""
    return cycle(value, now)[3]


def check_literal(kind: str, value: Any, now: datetime | None = None) -> str | None:
    """Deploy-time check of a literal ``timeDate``/``timeDuration``/``timeCycle`` value (or a ``dueIn``
    duration): None if fine, else what is wrong."""
    now = now or datetime.now(timezone.utc)
    try:
        if kind == 'timeDate':
            date_value(value)
        elif kind == 'timeCycle':
            cycle_value(value, now)
        else:
            duration_value(value, now)
    except SandboxError as err:
        return err.message
    return None

"""The helper functions scripts and expressions may call: bounded builtins, dates and durations, now()."""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from .guards import Guards, SandboxLimits


# --- date helpers -----------------------------------------------------------------------------------------------
_ISO_DURATION = re.compile(
    r'(?P<sign>[-+])?P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?'
    r'(?:(?P<days>\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?'
    r'(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?')


def _parse_iso_duration(text: str) -> tuple[int, timedelta]:
    """Split an ISO-8601 duration into (calendar months, fixed-length part)."""
    match = _ISO_DURATION.fullmatch(text.strip()) if isinstance(text, str) and len(text) < 100 else None
    if not match:
        raise ValueError(f'invalid ISO-8601 duration: {text!r}')
    number = {k: float(v.replace(',', '.')) for k, v in match.groupdict().items() if v and k != 'sign'}
    months = int(number.pop('years', 0)) * 12 + int(number.pop('months', 0))
    rest = timedelta(**number)
    return (-months, -rest) if match['sign'] == '-' else (months, rest)


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    else:
        result = datetime.fromisoformat(str(value).strip())
    return result if result.tzinfo else result.replace(tzinfo=timezone.utc)


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return parse_date(parse_datetime(value))


def duration(iso: str) -> timedelta:
    months, rest = _parse_iso_duration(iso)
    if months:
        raise ValueError(f'{iso!r} contains years/months, which have no fixed length; use add_duration(dt, {iso!r})')
    return rest


def add_duration(value: Any, iso: str) -> date | datetime:
    if isinstance(value, str):
        value = parse_date(value) if len(value.strip()) == 10 else parse_datetime(value)
    months, rest = _parse_iso_duration(iso)
    if months:
        index = value.year * 12 + value.month - 1 + months
        year, month = divmod(index, 12)
        month += 1
        if not 1 <= year <= 9999:
            raise OverflowError('date out of range')
        value = value.replace(year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1]))
    return value + rest


def days_between(a: Any, b: Any) -> int:
    return (parse_date(b) - parse_date(a)).days


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def build_functions(guards: Guards, clock: Callable[[], datetime]) -> dict[str, Any]:
    return {
        'len': len, 'min': min, 'max': max, 'sum': guards.bounded_sum, 'round': guards.bounded_round,
        'sorted': sorted, 'abs': abs, 'any': any, 'all': all, 'int': guards.bounded_int, 'float': float,
        'str': guards.bounded_str, 'bool': bool, 'list': list, 'dict': dict, 'set': set, 'tuple': tuple,
        'enumerate': enumerate, 'zip': guards.bounded_zip, 'range': guards.bounded_range, 'Decimal': Decimal,
        'date': date, 'datetime': datetime, 'timedelta': timedelta,
        'parse_date': parse_date, 'parse_datetime': parse_datetime,
        'duration': duration, 'add_duration': add_duration, 'days_between': days_between,
        # Wrapped so that scripts never hold the clock object itself (its attributes would be reachable).
        'now': lambda: clock(), 'today': lambda: clock().date(),
    }


SAFE_FUNCTIONS: dict[str, Any] = build_functions(Guards(SandboxLimits()), utc_now)
SCRIPT_BUILTINS = {cls.__name__: cls for cls in (Exception, ValueError, TypeError, KeyError, IndexError,
                                                  LookupError, ArithmeticError, ZeroDivisionError)}

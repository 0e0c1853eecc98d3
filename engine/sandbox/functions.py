"""The helper functions scripts and expressions may call (see the package docstring for the list)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from .dates import add_duration, days_between, duration, parse_date, parse_datetime, utc_now
from .errors import SandboxLimits
from .guards import Guards


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



"""Errors, limits and the guards every sandboxed evaluation runs under: the attribute policy, and
size and magnitude checks on operators and size-prone methods before they allocate."""
from __future__ import annotations

import ast
import math
import operator
import re
import sys
import types
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from RestrictedPython.transformer import INSPECT_ATTRIBUTES


# SpiffWorkflow looks for traceback frames named '<string>' to report the failing script line, so keep that name.
SCRIPT_FILENAME = '<string>'
KINDS = ('forbidden', 'timeout', 'too_large', 'out_of_bounds', 'error', 'syntax')


class SandboxError(Exception):
    """Any refusal or failure inside the sandbox; ``kind`` is one of :data:`KINDS`."""

    def __init__(self, message: str, kind: str = 'error') -> None:
        super().__init__(message, kind)  # both in args so that pickling keeps the kind
        self.message = message
        self.kind = kind

    def __str__(self) -> str:
        return self.message


def find_sandbox_error(exc: BaseException | None) -> SandboxError | None:
    """Return the SandboxError in ``exc``'s cause/context chain (e.g. under a WorkflowTaskException)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SandboxError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 1.0
    max_result_bytes: int = 1_000_000
    max_sequence_length: int = 100_000


class Timeout(BaseException):
    """Raised from the tracer. A BaseException so that ``except Exception:`` in a script cannot swallow it."""


def forbidden(message: str) -> SandboxError:
    return SandboxError(message, 'forbidden')


def too_large(what: str, limit: int) -> SandboxError:
    return SandboxError(f'{what} would exceed the sandbox size limit ({limit})', 'too_large')


# --- attribute policy (shared by scripts and expressions) -------------------------------------------------------
# format/format_map: the '{0.__class__}'.format(x) gadget; mro/frame/code attributes lead back to real globals;
# translate/maketrans can blow a string up in one C call.
_FORBIDDEN_ATTRS = frozenset({'format', 'format_map', 'mro', 'translate', 'maketrans'}) | INSPECT_ATTRIBUTES
_FORBIDDEN_ATTR_PREFIXES = ('_', 'gi_', 'cr_', 'ag_', 'f_', 'tb_', 'co_', 'func_')
# Attributes allowed on classes (date.fromisoformat, dict.fromkeys...); everything else on a type is refused, which
# also keeps unbound methods such as str.center(s, 10**10) from bypassing the size checks below.
_TYPE_ATTRS = frozenset({'fromisoformat', 'strptime', 'combine', 'fromordinal', 'fromkeys', 'from_float',
                         'min', 'max', 'resolution'})
# Functions that must never be called, reported as "forbidden" at compile time (they are not provided anyway).
FORBIDDEN_CALLS = frozenset({'getattr', 'setattr', 'delattr', 'hasattr', 'open', 'eval', 'exec', 'compile',
                             'globals', 'locals', 'vars', 'type', 'dir', 'input', 'breakpoint', 'help', 'id',
                             'memoryview', 'object', 'super', 'classmethod', 'staticmethod', 'property',
                             'isinstance', 'issubclass', 'exit', 'quit', 'print', '__import__'})


def attribute_problem(name: str) -> str | None:
    if name.startswith(_FORBIDDEN_ATTR_PREFIXES) or name in _FORBIDDEN_ATTRS:
        return f'access to attribute "{name}" is not allowed'
    return None


MISSING = object()
# Integers are capped at ~4,500 digits (Python's own int<->str limit is 4,300): beyond that, division and
# Decimal(int) are quadratic in CPython, i.e. a single uninterruptible C call could take seconds.
_MAX_INT_BITS = 15_000
_MAX_INT_DIGITS = 4_500
_NUMBER_TYPES = frozenset({int, float, bool, Decimal})
SCALARS = frozenset({str, int, float, bool, type(None), Decimal, date, datetime, timedelta})
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_DONE = object()


def json_size(value: Any, budget: int) -> int:
    """Rough JSON size of ``value``; stops as soon as it exceeds ``budget`` (cheap, never recurses, cycle-safe).

    Containers are walked through iterators, never copied: it must also work when memory has just run out
    (measuring what a failed script left behind)."""
    total, stack = 0, [iter((value,))]
    while stack:
        item = next(stack[-1], _DONE)
        if item is _DONE:
            stack.pop()
            continue
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack += (iter(item.keys()), iter(item.values()))
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item)
            stack.append(iter(item))
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, (bytes, bytearray)):
            total += len(item) + 2
        else:
            total += 24
        if total > budget:
            break
    return total


class Guards:
    """Size-checked operations and helpers bound to one SandboxLimits (built once per environment)."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.max_len = limits.max_sequence_length

    def check_binop(self, symbol: str, a: Any, b: Any) -> None:
        """Refuse, before computing, results that a single C call would make huge."""
        max_len, max_bits = self.max_len, _MAX_INT_BITS
        if symbol == '+':
            if isinstance(a, _SEQUENCES) and hasattr(b, '__len__') and len(a) + len(b) > max_len:
                raise too_large('concatenation', max_len)
        elif symbol == '*':
            for seq, n in ((a, b), (b, a)):
                if isinstance(seq, _SEQUENCES) and isinstance(n, int) and len(seq) * n > max_len:
                    raise too_large('repetition', max_len)
            if type(a) is int and type(b) is int and a.bit_length() + b.bit_length() > max_bits:
                raise too_large('integer product', max_bits)
        elif symbol == '**':
            if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and math.log2(abs(a)) * b > max_bits:
                raise too_large('power', max_bits)
        elif symbol == '<<':
            if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > max_bits:
                raise too_large('shift', max_bits)
        elif symbol == '%' and isinstance(a, (str, bytes)):
            raise forbidden('printf-style "%" formatting is not allowed; use an f-string')

    def binop(self, symbol: str, a: Any, b: Any) -> Any:
        self.check_binop(symbol, a, b)
        return _BINARY_OPS[symbol](a, b)

    def inplace(self, symbol: str, a: Any, b: Any) -> Any:
        """RestrictedPython turns ``n += 1`` into ``n = _inplacevar_('+=', n, 1)``."""
        self.check_binop(symbol[:-1], a, b)
        return _INPLACE_OPS[symbol](a, b)

    def check_size(self, value: Any, what: str) -> None:
        if type(value) not in SCALARS and json_size(value, self.max_len) > self.max_len:
            raise too_large(what, self.max_len)

    @staticmethod
    def check_magnitude(value: Any, what: str, limit: int = _MAX_INT_DIGITS) -> None:
        # Decimal('1e999999999') is cheap to hold but int()/round()/':f' would materialise every digit.
        if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > limit:
            raise too_large(what, limit)

    def get_attribute(self, obj: Any, name: str) -> Any:
        problem = attribute_problem(name)
        if problem:
            raise forbidden(problem)
        if isinstance(obj, types.ModuleType) or (isinstance(obj, type) and name not in _TYPE_ATTRS):
            raise forbidden(f'access to attribute "{name}" of {getattr(obj, "__name__", "?")} is not allowed')
        value = getattr(obj, name)
        # Every str/bytes method is watched, since chains such as s.encode('unicode_escape').decode() grow
        # their input several-fold per call; other types only for the few methods that can allocate a lot.
        if (isinstance(obj, (str, bytes, bytearray)) and callable(value)) or (
                name in _SIZED_METHODS and isinstance(obj, (list, int, Decimal))):
            return self._guarded_method(obj, name, value)
        return value

    def _guarded_method(self, obj: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        max_len, what, has_len = self.max_len, f'{type(obj).__name__}.{name}()', hasattr(obj, '__len__')

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if name == 'join' and args:
                args = (list(args[0]),)
            projected = _SIZED_METHODS.get(name)
            if projected is not None and projected(obj, args, kwargs) > max_len:
                raise too_large(what, max_len)
            result = method(*args, **kwargs)
            if isinstance(result, _SEQUENCES) and len(result) > max(max_len, len(obj) if has_len else 0):
                raise too_large(what, max_len)
            return _check_int(result, what)  # from_bytes, as_integer_ratio
        return guarded

    def format_value(self, value: Any, conversion: int = -1, spec: str = '') -> str:
        """f-string field: ``f'{x:>1000000000}'`` or a huge container must not be rendered."""
        self.check_size(value, 'formatted value')
        value = {114: repr, 115: str, 97: ascii}.get(conversion, lambda v: v)(value)
        for digits in re.findall(r'\d+', spec):
            if len(digits) > 9 or int(digits) > self.max_len:
                raise too_large('format width/precision', self.max_len)
        self.check_magnitude(value, 'formatted Decimal', self.max_len)
        return format(value, spec)

    # Bounded replacements of builtins.
    def bounded_str(self, value: Any = '', *args: Any) -> str:
        self.check_size(value, 'str()')
        return str(value, *args)

    def bounded_int(self, value: Any = 0, *args: Any) -> int:
        self.check_magnitude(value, 'int()')
        return _check_int(int(value, *args), 'int()')  # int('1' * 10**5, 2) is cheap but huge

    def bounded_round(self, number: Any, ndigits: int | None = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > _MAX_INT_DIGITS:  # round(5, -10**9) computes 10**10**9
            raise too_large('round() digits', _MAX_INT_DIGITS)
        self.check_magnitude(number, 'round()')
        return round(number, ndigits)

    def bounded_range(self, *args: int) -> range:
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = sys.maxsize
        if length > self.max_len:
            raise too_large('range()', self.max_len)
        return result

    def bounded_zip(self, *iterables: Any) -> zip:
        # list(zip(*[rows] * n)) would build n * len(rows) references in one C call.
        sizes = [len(i) for i in iterables if hasattr(i, '__len__')]
        if sizes and len(iterables) * min(sizes) > 4 * self.max_len:
            raise too_large('zip()', 4 * self.max_len)
        return zip(*iterables)

    def fstring(self, parts: list[str]) -> str:
        """An f-string's parts, joined after a length check (`s = f'{s}{s}'` in a loop doubles s)."""
        if sum(map(len, parts)) > self.max_len:
            raise too_large('f-string', self.max_len)
        return ''.join(parts)

    def bounded_sum(self, iterable: Any, start: Any = 0) -> Any:
        items = list(iterable)
        if {type(x) for x in items} | {type(start)} <= _NUMBER_TYPES:
            return sum(items, start)  # numbers cannot grow in size: C fast path
        total = start
        for item in items:  # sum([[0]*n]*n, []) would otherwise concatenate in C without bound
            total = self.binop('+', total, item)
        return total


_BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    '+': operator.add, '-': operator.sub, '*': operator.mul, '/': operator.truediv, '//': operator.floordiv,
    '%': operator.mod, '**': operator.pow, '<<': operator.lshift, '>>': operator.rshift, '|': operator.or_,
    '^': operator.xor, '&': operator.and_, '@': operator.matmul}
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    '+=': operator.iadd, '-=': operator.isub, '*=': operator.imul, '/=': operator.itruediv,
    '//=': operator.ifloordiv, '%=': operator.imod, '**=': operator.ipow, '<<=': operator.ilshift,
    '>>=': operator.irshift, '|=': operator.ior, '^=': operator.ixor, '&=': operator.iand, '@=': operator.imatmul}
GUARDED_BINOPS: dict[type, str] = {ast.Add: '+', ast.Mult: '*', ast.Pow: '**', ast.LShift: '<<', ast.Mod: '%'}


def _replace_size(obj: Any, args: tuple, kwargs: dict) -> int:
    old, new = args[0], args[1]
    count = args[2] if len(args) > 2 else kwargs.get('count', -1)
    hits = obj.count(old) if old else len(obj) + 1
    if type(count) is int and count >= 0:
        hits = min(hits, count)
    return len(obj) + hits * (len(new) - len(old))


def _int_arg(args: tuple, kwargs: dict, key: str, default: int) -> int:
    """A size argument, if it is an int (anything else: 0, and the method itself raises TypeError).
    Never compute with unchecked values: len(s) * 'x' would itself build a huge string."""
    value = args[0] if args else kwargs.get(key, default)
    return value if type(value) is int else 0


# Projected result length of methods that can allocate a lot in a single C call.
_SIZED_METHODS: dict[str, Callable[[Any, tuple, dict], int]] = {
    'center': lambda s, a, k: _int_arg(a, k, 'width', 0),
    'ljust': lambda s, a, k: _int_arg(a, k, 'width', 0),
    'rjust': lambda s, a, k: _int_arg(a, k, 'width', 0),
    'zfill': lambda s, a, k: _int_arg(a, k, 'width', 0),
    'expandtabs': lambda s, a, k: len(s) * _int_arg(a, k, 'tabsize', 8),
    'replace': _replace_size,
    'join': lambda s, a, k: sum(map(len, a[0])) + len(s) * len(a[0]) if a else 0,  # map: no per-item trace
    'extend': lambda s, a, k: len(s) + len(a[0]) if a and hasattr(a[0], '__len__') else 0,
    'to_bytes': lambda s, a, k: _int_arg(a, k, 'length', 1),
    'from_bytes': lambda s, a, k: 0,  # result checked by _check_int
    # Decimal('1e999999999').as_integer_ratio() would build a 10**999999999 int before any result check.
    'as_integer_ratio': lambda s, a, k: Guards.check_magnitude(s, 'as_integer_ratio()') or 0,
}


def _check_int(value: Any, what: str) -> Any:
    if type(value) is int and value.bit_length() > _MAX_INT_BITS:
        raise too_large(what, _MAX_INT_BITS)
    if type(value) is tuple:
        for item in value:
            _check_int(item, what)
    return value

"""Restricted evaluation of BPMN/DMN scripts and expressions: no file content may run arbitrary Python.

Plug-in: ``PythonScriptEngine(environment=SandboxEnvironment())``. Every evaluation path of SpiffWorkflow 3.2
(script tasks, pre/post scripts, gateway conditions, timers, message payloads/correlations, MI cardinality,
DMN cells, completion conditions) ends in ``environment.evaluate`` / ``environment.execute``.

* Scripts run as RestrictedPython code (compiled once per text) with our guards: no imports, classes, generators
  or ``with``; no names/attributes starting with ``_``; no ``format``/``format_map``/frame/code attributes; only a
  few constructors on classes; ``+ * ** << %``, f-string fields and size-prone methods are size-checked first.
* Expressions run in simpleeval (``EvalWithCompoundTypes``) with the same attribute policy and size checks.
* CPU time is bounded per call by ``sys.settrace`` + ``time.thread_time()`` (works in any thread, unlike SIGALRM).
* One-step allocations are refused before they happen (sequences > ``max_sequence_length``, integers beyond
  ~4,500 digits); results (task data after a script, an expression's value) are bounded in rough JSON size.
  Memory built up step by step in a loop is only bounded by the CPU limit (measured: ~600 MB in 1 s) - use a
  process memory limit (RLIMIT_AS/cgroup) for a hard bound.

Helpers (``SAFE_FUNCTIONS``, in both): ``len min max sum round sorted abs any all int float str bool list dict
set tuple enumerate zip range Decimal date datetime timedelta`` and ``now()`` (aware UTC datetime from the
injectable clock), ``today()`` (its UTC date), ``parse_date(s)``, ``parse_datetime(s)`` (naive taken as UTC),
``duration('PT2H')`` (a timedelta; years/months refused: no fixed length), ``add_duration(dt, 'P1M')`` (calendar
months, day clamped to the month's end), ``days_between(a, b)`` (whole days from a to b). Scripts also get a few
exception classes for ``try/except``. Extra ``functions`` given to the environment are trusted: pass plain functions.

Errors: always :class:`SandboxError`, ``kind`` in forbidden/timeout/too_large/error/syntax (runtime errors keep
the original as ``__cause__``). SpiffWorkflow wraps it in ``WorkflowTaskException`` raised inside its ``except``
block, so the SandboxError is the wrapper's ``__context__`` (``error_type == 'SandboxError'``; for scripts the
line is in ``line_number``/``error_line``): use :func:`find_sandbox_error` to get it back.
"""
from __future__ import annotations

import _strptime  # noqa: F401  - imported eagerly so datetime.strptime never imports under the CPU tracer
import ast
import calendar
import math
import operator
import re
import sys
import textwrap
import threading
import time
import types
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any, Callable, Iterator

import simpleeval
from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment

# SpiffWorkflow looks for traceback frames named '<string>' to report the failing script line, so keep that name.
SCRIPT_FILENAME = '<string>'
KINDS = ('forbidden', 'timeout', 'too_large', 'error', 'syntax')


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


class _Timeout(BaseException):
    """Raised from the tracer. A BaseException so that ``except Exception:`` in a script cannot swallow it."""


def _forbidden(message: str) -> SandboxError:
    return SandboxError(message, 'forbidden')


def _too_large(what: str, limit: int) -> SandboxError:
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


def _attribute_problem(name: str) -> str | None:
    if name.startswith(_FORBIDDEN_ATTR_PREFIXES) or name in _FORBIDDEN_ATTRS:
        return f'access to attribute "{name}" is not allowed'
    return None


_MISSING = object()
# Integers are capped at ~4,500 digits (Python's own int<->str limit is 4,300): beyond that, division and
# Decimal(int) are quadratic in CPython, i.e. a single uninterruptible C call could take seconds.
_MAX_INT_BITS = 15_000
_MAX_INT_DIGITS = 4_500
_NUMBER_TYPES = frozenset({int, float, bool, Decimal})
_SCALARS = frozenset({str, int, float, bool, type(None), Decimal, date, datetime, timedelta})
_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _json_size(value: Any, budget: int) -> int:
    """Rough JSON size of ``value``; stops as soon as it exceeds ``budget`` (cheap, never recurses, cycle-safe)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        children: Any = ()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            children = (*item.keys(), *item.values()) if total <= budget else ()
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item)
            children = item
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, (bytes, bytearray)):
            total += len(item) + 2
        else:
            total += 24
        if total > budget:
            break
        stack.extend(children)
    return total


class _Guards:
    """Size-checked operations and helpers bound to one SandboxLimits (built once per environment)."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.max_len = limits.max_sequence_length

    def check_binop(self, symbol: str, a: Any, b: Any) -> None:
        """Refuse, before computing, results that a single C call would make huge."""
        max_len, max_bits = self.max_len, _MAX_INT_BITS
        if symbol == '+':
            if isinstance(a, _SEQUENCES) and hasattr(b, '__len__') and len(a) + len(b) > max_len:
                raise _too_large('concatenation', max_len)
        elif symbol == '*':
            for seq, n in ((a, b), (b, a)):
                if isinstance(seq, _SEQUENCES) and isinstance(n, int) and len(seq) * n > max_len:
                    raise _too_large('repetition', max_len)
            if type(a) is int and type(b) is int and a.bit_length() + b.bit_length() > max_bits:
                raise _too_large('integer product', max_bits)
        elif symbol == '**':
            if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and math.log2(abs(a)) * b > max_bits:
                raise _too_large('power', max_bits)
        elif symbol == '<<':
            if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > max_bits:
                raise _too_large('shift', max_bits)
        elif symbol == '%' and isinstance(a, (str, bytes)):
            raise _forbidden('printf-style "%" formatting is not allowed; use an f-string')

    def binop(self, symbol: str, a: Any, b: Any) -> Any:
        self.check_binop(symbol, a, b)
        return _BINARY_OPS[symbol](a, b)

    def inplace(self, symbol: str, a: Any, b: Any) -> Any:
        """RestrictedPython turns ``n += 1`` into ``n = _inplacevar_('+=', n, 1)``."""
        self.check_binop(symbol[:-1], a, b)
        return _INPLACE_OPS[symbol](a, b)

    def check_size(self, value: Any, what: str) -> None:
        if type(value) not in _SCALARS and _json_size(value, self.max_len) > self.max_len:
            raise _too_large(what, self.max_len)

    @staticmethod
    def check_magnitude(value: Any, what: str, limit: int = _MAX_INT_DIGITS) -> None:
        # Decimal('1e999999999') is cheap to hold but int()/round()/':f' would materialise every digit.
        if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > limit:
            raise _too_large(what, limit)

    def get_attribute(self, obj: Any, name: str) -> Any:
        problem = _attribute_problem(name)
        if problem:
            raise _forbidden(problem)
        if isinstance(obj, types.ModuleType) or (isinstance(obj, type) and name not in _TYPE_ATTRS):
            raise _forbidden(f'access to attribute "{name}" of {getattr(obj, "__name__", "?")} is not allowed')
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
                raise _too_large(what, max_len)
            result = method(*args, **kwargs)
            if isinstance(result, _SEQUENCES) and len(result) > max(max_len, len(obj) if has_len else 0):
                raise _too_large(what, max_len)
            return _check_int(result, what)  # from_bytes, as_integer_ratio
        return guarded

    def format_value(self, value: Any, conversion: int = -1, spec: str = '') -> str:
        """f-string field: ``f'{x:>1000000000}'`` or a huge container must not be rendered."""
        self.check_size(value, 'formatted value')
        value = {114: repr, 115: str, 97: ascii}.get(conversion, lambda v: v)(value)
        for digits in re.findall(r'\d+', spec):
            if len(digits) > 9 or int(digits) > self.max_len:
                raise _too_large('format width/precision', self.max_len)
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
            raise _too_large('round() digits', _MAX_INT_DIGITS)
        self.check_magnitude(number, 'round()')
        return round(number, ndigits)

    def bounded_range(self, *args: int) -> range:
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = sys.maxsize
        if length > self.max_len:
            raise _too_large('range()', self.max_len)
        return result

    def bounded_zip(self, *iterables: Any) -> zip:
        # list(zip(*[rows] * n)) would build n * len(rows) references in one C call.
        sizes = [len(i) for i in iterables if hasattr(i, '__len__')]
        if sizes and len(iterables) * min(sizes) > 4 * self.max_len:
            raise _too_large('zip()', 4 * self.max_len)
        return zip(*iterables)

    def fstring(self, parts: list[str]) -> str:
        """An f-string's parts, joined after a length check (`s = f'{s}{s}'` in a loop doubles s)."""
        if sum(map(len, parts)) > self.max_len:
            raise _too_large('f-string', self.max_len)
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
_GUARDED_BINOPS: dict[type, str] = {ast.Add: '+', ast.Mult: '*', ast.Pow: '**', ast.LShift: '<<', ast.Mod: '%'}


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
    'as_integer_ratio': lambda s, a, k: _Guards.check_magnitude(s, 'as_integer_ratio()') or 0,
}


def _check_int(value: Any, what: str) -> Any:
    if type(value) is int and value.bit_length() > _MAX_INT_BITS:
        raise _too_large(what, _MAX_INT_BITS)
    if type(value) is tuple:
        for item in value:
            _check_int(item, what)
    return value


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


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _build_functions(guards: _Guards, clock: Callable[[], datetime]) -> dict[str, Any]:
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


SAFE_FUNCTIONS: dict[str, Any] = _build_functions(_Guards(SandboxLimits()), _utc_now)
_SCRIPT_BUILTINS = {cls.__name__: cls for cls in (Exception, ValueError, TypeError, KeyError, IndexError,
                                                  LookupError, ArithmeticError, ZeroDivisionError)}


# --- scripts ----------------------------------------------------------------------------------------------------
def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)
    return node


def _deadline_check(like: ast.AST) -> ast.Expr:
    node = ast.Expr(_call('_check_deadline_', [], like))
    copy_locations(node, like)
    return node


class _ScriptTransformer(RestrictingNodeTransformer):
    """RestrictedPython policy plus our rules (see module docstring)."""

    def _refuse(self, node: ast.AST, what: str) -> ast.AST:
        self.error(node, f'{what} are not allowed')
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self._refuse(node, 'import statements')

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._refuse(node, 'class definitions')

    def visit_Yield(self, node: ast.AST) -> ast.AST:
        # A generator's finally block could run after the call returns, i.e. outside the CPU limit.
        return self._refuse(node, 'generators (yield)')

    visit_YieldFrom = visit_Yield

    def visit_With(self, node: ast.With) -> ast.AST:
        return self._refuse(node, 'with statements')

    def visit_Module(self, node: ast.Module) -> ast.AST:
        for name, child in _top_level_bindings(node):
            if name in SAFE_FUNCTIONS:
                self.error(child, f'"{name}" is a helper function and cannot be assigned')
        return super().visit_Module(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            self.error(node, f'"{node.func.id}" is not available in the sandbox')
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        problem = None if node.attr.startswith('_') else _attribute_problem(node.attr)  # '_' already reported
        if problem:
            self.error(node, problem)
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_BINOPS.get(type(node.op))
        return node if symbol is None else _call('_binop_', [ast.Constant(symbol), node.left, node.right], node)

    # f'{a:>{w}}' becomes _fstring_([_format_(a, -1, _fstring_([_format_(w, -1, '')]))]): widths, sizes of
    # rendered values and the total length are all checked.
    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant('')
        return _call('_format_', [node.value, ast.Constant(node.conversion), spec], node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node = self.node_contents_visit(node)
        parts = ast.List(elts=list(node.values), ctx=ast.Load())
        copy_locations(parts, node)
        return _call('_fstring_', [parts], node)

    # In-place growth that bypasses the guarded operators: l[0:0] = l, [*l, *l].
    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.error(node, 'slice assignment is not allowed')
        return super().visit_Subscript(node)

    def _refuse_starred(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        if not isinstance(getattr(node, 'ctx', ast.Load()), ast.Store) and any(
                isinstance(e, ast.Starred) for e in node.elts):
            self.error(node, 'unpacking (*x) inside a list/tuple/set display is not allowed; use + or |')

    def visit_List(self, node: ast.List) -> ast.AST:
        self._refuse_starred(node)
        return super().visit_List(node)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        self._refuse_starred(node)
        return super().visit_Tuple(node)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self._refuse_starred(node)
        return super().visit_Set(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        # CPython 3.11 emits no line events for a loop that jumps to itself (`while True: pass`), so the tracer
        # would never see it; a leading name load gives the backward jump a distinct target.
        node = super().visit_While(node)
        probe = ast.Expr(ast.Name('_check_deadline_', ast.Load()))
        copy_locations(probe, node.body[0])
        node.body.insert(0, probe)
        return node

    # A bare `except:` can catch _Timeout (CPython also switches the tracer off once it raised), so every
    # handler and finally block first re-raises if the budget has expired.
    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        # The `except <expr>` expression is evaluated before the handler body, i.e. while the tracer may already be
        # off: allow only names, so that no code can run there.
        kind = node.type
        if not (kind is None or isinstance(kind, ast.Name)
                or (isinstance(kind, ast.Tuple) and all(isinstance(e, ast.Name) for e in kind.elts))):
            self.error(node, 'except clauses may only name exception classes')
        node = super().visit_ExceptHandler(node)
        node.body.insert(0, _deadline_check(node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, _deadline_check(node.finalbody[0]))
        return node


def _top_level_bindings(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(name, node) for names a script binds in its global scope (function bodies/comprehensions are local)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef):
            yield child.name, child
        elif isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
            yield child.id, child
        elif not isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            yield from _top_level_bindings(child)


@lru_cache(maxsize=2048)
def _compile_script(script: str) -> tuple[types.CodeType | None, str, str]:
    """(code, kind, message); compiled code is cached per script text."""
    try:
        # dedent: XML pretty-printers indent script bodies; line numbers are unchanged.
        tree = ast.parse(textwrap.dedent(script), SCRIPT_FILENAME, 'exec')
        result = compile_restricted_exec(tree, SCRIPT_FILENAME, policy=_ScriptTransformer)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        line = getattr(err, 'lineno', None)
        return None, 'syntax', f'syntax error{f" on line {line}" if line else ""}: {getattr(err, "msg", err)}'
    if result.errors:
        return None, 'forbidden', '; '.join(result.errors)
    return result.code, '', ''


def check_script(script: str) -> str | None:
    """Compile-only check for deployment validation: None if OK, else the reason."""
    if not isinstance(script, str):
        return 'script must be a string'
    return _compile_script(script)[2] or None


# --- expressions ------------------------------------------------------------------------------------------------
_EXPRESSION_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare,
    ast.IfExp, ast.Call, ast.keyword, ast.Subscript, ast.Attribute, ast.Slice, ast.JoinedStr, ast.FormattedValue,
    ast.Dict, ast.List, ast.Tuple, ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.comprehension,
    ast.Starred, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def _expression_problem(tree: ast.AST) -> str | None:
    for node in ast.walk(tree):
        if not isinstance(node, _EXPRESSION_NODES):
            return f'{type(node).__name__} is not allowed in expressions'
        if isinstance(node, ast.Name) and node.id.startswith('_'):
            return f'name "{node.id}" is not allowed (names starting with "_" are private)'
        if isinstance(node, ast.Attribute) and _attribute_problem(node.attr):
            return _attribute_problem(node.attr)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            return f'"{node.func.id}" is not available in the sandbox'
    return None


@lru_cache(maxsize=4096)
def _parse_expression(expression: str) -> tuple[ast.AST | None, str, str]:
    try:
        tree = ast.parse(expression.strip(), '<expression>', 'eval')
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        return None, 'syntax', f'syntax error in expression: {getattr(err, "msg", err)}'
    problem = _expression_problem(tree)
    return (None, 'forbidden', problem) if problem else (tree.body, '', '')


def check_expression(expression: str) -> str | None:
    """Compile-only check for deployment validation: None if OK, else the reason."""
    if not isinstance(expression, str):
        return 'expression must be a string'
    return _parse_expression(expression)[2] or None


_DISPLAYS = frozenset({ast.List, ast.Tuple, ast.Set})


def _is_disallowed(value: Any) -> bool:
    try:
        return isinstance(value, types.ModuleType) or (callable(value) and value in simpleeval.DISALLOW_FUNCTIONS)
    except TypeError:  # unhashable callable
        return False


class _ExpressionEvaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with our attribute policy, size checks and a per-environment comprehension bound."""

    def __init__(self, guards: _Guards, functions: dict[str, Any], operators: dict[type, Any]) -> None:
        super().__init__(operators=operators, functions=dict(functions), names={})
        self.guards = guards

    def run(self, expression: str, node: ast.AST) -> Any:
        self.expr = expression
        # simpleeval compares a running counter with its module-wide MAX_COMPREHENSION_LENGTH; starting the
        # counter below zero makes the effective bound our max_sequence_length without touching module globals.
        self._max_count = simpleeval.MAX_COMPREHENSION_LENGTH - self.guards.max_len
        return self._eval(node)

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval walks every container result recursively to find modules/forbidden functions: with task data
        # that costs O(data) per name lookup (and `[[0]*n]*n` makes it quadratic). Checking each node's own value
        # is equivalent, since a nested value can only be used after a node (subscript, call...) extracts it.
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise simpleeval.FeatureNotAvailable(f'{type(node).__name__} is not available in expressions') from None
        result = handler(node)
        if type(result) not in _SCALARS:
            if _is_disallowed(result):
                raise simpleeval.FeatureNotAvailable(f'{result!r} is not available in expressions')
            if type(node) in _DISPLAYS and len(result) > self.guards.max_len:  # [*x, *x, *x, ...]
                raise _too_large('list/tuple/set display', self.guards.max_len)
        return result

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        return self.guards.get_attribute(self._eval(node.value), node.attr)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> str:
        spec = self._eval(node.format_spec) if node.format_spec else ''
        return self.guards.format_value(self._eval(node.value), node.conversion, spec)


# --- CPU limit ----------------------------------------------------------------------------------------------------
_POLL_SECONDS = 0.002


class _CpuBudget:
    """Per-call CPU-time limit via sys.settrace: works in any thread (SIGALRM only works in the main thread)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.active = True
        thread_time, perf_counter = time.thread_time, time.perf_counter
        deadline = thread_time() + seconds
        next_poll = perf_counter() + _POLL_SECONDS

        # The CPU clock costs ~0.3 µs, the wall clock ~0.05 µs: read the CPU clock only every _POLL_SECONDS of
        # wall time. (Counting events instead would multiply the overrun of a loop of slow C calls.)
        def poll() -> bool:
            nonlocal next_poll
            next_poll = perf_counter() + _POLL_SECONDS
            if self.active and thread_time() > deadline:
                self.expired = True
            return self.expired

        def trace_line(frame: types.FrameType, event: str, arg: Any) -> Any:
            if event == 'line' and perf_counter() > next_poll and poll():
                raise _Timeout
            return trace_line

        def trace_call(frame: types.FrameType, event: str, arg: Any) -> Any:
            if perf_counter() > next_poll and poll():
                raise _Timeout
            # Line events (needed for `while True: pass`) only for sandboxed code, to keep the overhead low.
            return trace_line if frame.f_code.co_filename == SCRIPT_FILENAME else None

        self.trace = trace_call

    def check(self) -> None:
        if self.expired:
            raise _Timeout

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        previous = sys.gettrace()  # e.g. coverage's tracer: restored afterwards
        sys.settrace(self.trace)
        try:
            return func(*args)
        finally:
            sys.settrace(previous)
            self.active = False


def _as_sandbox_error(err: BaseException, what: str, limits: SandboxLimits) -> SandboxError:
    if isinstance(err, SandboxError):
        return err
    if isinstance(err, _Timeout):
        return SandboxError(f'{what} exceeded the CPU time limit of {limits.cpu_seconds:g} s', 'timeout')
    if isinstance(err, MemoryError):
        return SandboxError(f'{what} ran out of memory', 'too_large')
    if isinstance(err, (simpleeval.NumberTooHigh, simpleeval.IterableTooLong)):
        return SandboxError(str(err), 'too_large')
    if isinstance(err, simpleeval.FeatureNotAvailable):
        return SandboxError(str(err), 'forbidden')
    return SandboxError(f'{type(err).__name__}: {err}', 'error')


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates everything in the sandbox."""

    def __init__(self, limits: SandboxLimits = SandboxLimits(), functions: dict[str, Any] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__({})
        self.limits = limits
        self._guards = guards = _Guards(limits)
        self.functions = _build_functions(guards, clock or _utc_now)
        for name, func in (functions or {}).items():
            if not name.isidentifier() or name.startswith('_'):
                raise ValueError(f'invalid helper function name: {name!r}')
            self.functions[name] = func
        operators = dict(simpleeval.DEFAULT_OPERATORS)
        for node_type, symbol in _GUARDED_BINOPS.items():
            operators[node_type] = partial(guards.binop, symbol)
        self._operators = operators
        # Names injected into the script globals (= task data) and removed afterwards.
        self._script_globals: dict[str, Any] = {
            **self.functions, '_getattr_': guards.get_attribute, '_getitem_': operator.getitem, '_getiter_': iter,
            '_write_': _write_guard, '_apply_': _apply, '_inplacevar_': guards.inplace, '_binop_': guards.binop,
            '_format_': guards.format_value, '_fstring_': guards.fstring,
            '_unpack_sequence_': guarded_unpack_sequence,
            '_iter_unpack_sequence_': guarded_iter_unpack_sequence, '_check_deadline_': None}
        self._reserved = frozenset(self._script_globals)
        self._local = threading.local()  # one reusable simpleeval evaluator per thread

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        if not isinstance(expression, str):
            raise SandboxError('expression must be a string', 'syntax')
        node, kind, message = _parse_expression(expression)
        if node is None:
            raise SandboxError(message, kind)
        names = {**external_context, **context} if external_context else context
        # pop: a re-entrant call (a custom helper evaluating) gets its own evaluator.
        evaluator = self._local.__dict__.pop('evaluator', None) or _ExpressionEvaluator(
            self._guards, self.functions, self._operators)
        evaluator.names = names
        try:
            result = _CpuBudget(self.limits.cpu_seconds).run(evaluator.run, expression, node)
        except (Exception, _Timeout) as err:
            wrapped = _as_sandbox_error(err, 'expression', self.limits)
            if wrapped is err:
                raise
            raise wrapped from err
        finally:
            evaluator.names = {}
            self._local.evaluator = evaluator
        if type(result) not in _SCALARS or isinstance(result, str):
            self._check_result(result, 'expression result')
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        if not isinstance(script, str):
            raise SandboxError('script must be a string', 'syntax')
        code, kind, message = _compile_script(script)
        if code is None:
            raise SandboxError(message, kind)
        injected = {**self._script_globals, **(external_context or {}), '__builtins__': _SCRIPT_BUILTINS}
        clash = context.keys() & self._reserved
        if external_context:
            clash |= context.keys() & external_context.keys()
        if clash:
            raise _forbidden(f'task data uses reserved helper name(s) {sorted(clash)}; rename these fields')
        budget = _CpuBudget(self.limits.cpu_seconds)
        injected['_check_deadline_'] = budget.check
        context.update(injected)
        try:
            budget.run(exec, code, context)
        except (Exception, _Timeout) as err:
            wrapped = _as_sandbox_error(err, 'script', self.limits)
            if wrapped is err:
                raise
            # Keep the script's traceback so SpiffWorkflow can report the failing line.
            raise wrapped.with_traceback(err.__traceback__) from err
        finally:
            clobbered = self._strip(context, injected)
        if clobbered:
            raise _forbidden(f'the script assigned to reserved helper name(s) {clobbered}')
        self._check_result(context, 'task data')
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise SandboxError('service tasks are not enabled', 'forbidden')

    @staticmethod
    def _strip(context: dict[str, Any], injected: dict[str, Any]) -> list[str]:
        """Remove helpers/guards and non-data values (functions, modules, generators) from the task data."""
        clobbered = sorted(name for name, value in injected.items()
                           if name != '__builtins__' and context.get(name, _MISSING) is not value)
        for name in list(context):
            value = context[name]
            if name in injected or callable(value) or isinstance(value, (types.ModuleType, types.GeneratorType)):
                del context[name]
        return clobbered

    def _check_result(self, value: Any, what: str) -> None:
        limit = self.limits.max_result_bytes
        if _json_size(value, limit) > limit:
            raise SandboxError(f'{what} exceeds the size limit of {limit} bytes', 'too_large')


def _write_guard(obj: Any) -> Any:
    """RestrictedPython routes `x[k] = v`, `del x[k]` and `x.a = v` through this: only plain dicts/lists."""
    if type(obj) in (dict, list):
        return obj
    raise _forbidden(f'modifying a {type(obj).__name__} is not allowed')


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)

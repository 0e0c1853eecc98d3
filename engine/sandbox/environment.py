"""The SpiffWorkflow script environment: every script and expression of a process runs here."""
from __future__ import annotations

import operator
import threading
import types
from datetime import datetime
from functools import partial
from typing import Any, Callable

import simpleeval
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment

from .cpu import CpuBudget, as_sandbox_error, run_pure
from .expressions import ExpressionEvaluator, parse_expression
from .functions import SCRIPT_BUILTINS, build_functions, utc_now
from .guards import GUARDED_BINOPS, MISSING, SCALARS, Guards, SandboxError, SandboxLimits, Timeout, forbidden, json_size
from .scripts import compile_script


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates everything in the sandbox."""

    def __init__(self, limits: SandboxLimits = SandboxLimits(), functions: dict[str, Any] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__({})
        self.limits = limits
        self._guards = guards = Guards(limits)
        self.functions = build_functions(guards, clock or utc_now)
        for name, func in (functions or {}).items():
            if not name.isidentifier() or name.startswith('_'):
                raise ValueError(f'invalid helper function name: {name!r}')
            self.functions[name] = func
        operators = dict(simpleeval.DEFAULT_OPERATORS)
        for node_type, symbol in GUARDED_BINOPS.items():
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
        node, kind, message = parse_expression(expression)
        if node is None:
            raise SandboxError(message, kind)
        names = {**external_context, **context} if external_context else context
        # pop: a re-entrant call (a custom helper evaluating) gets its own evaluator.
        evaluator = self._local.__dict__.pop('evaluator', None) or ExpressionEvaluator(
            self._guards, self.functions, self._operators)
        evaluator.names = names
        try:
            result = run_pure(self.limits.cpu_seconds, evaluator.run, expression, node)
        except (Exception, Timeout) as err:
            wrapped = as_sandbox_error(err, 'expression', self.limits)
            if wrapped is err:
                raise
            raise wrapped from err
        finally:
            evaluator.names = {}
            self._local.evaluator = evaluator
        if type(result) not in SCALARS or isinstance(result, str):
            self._check_result(result, 'expression result')
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        if not isinstance(script, str):
            raise SandboxError('script must be a string', 'syntax')
        code, kind, message = compile_script(script)
        if code is None:
            raise SandboxError(message, kind)
        injected = {**self._script_globals, **(external_context or {}), '__builtins__': SCRIPT_BUILTINS}
        clash = context.keys() & self._reserved
        if external_context:
            clash |= context.keys() & external_context.keys()
        if clash:
            raise forbidden(f'task data uses reserved helper name(s) {sorted(clash)}; rename these fields')
        before = dict(context)
        try:
            self._run_script(code, context, injected)
        except BaseException:
            # A script that fails changes no name of the task data: what it had bound is gone, whatever machine
            # (and so however far) it ran on. Changes made inside values the data already held are not undone.
            context.clear()
            context.update(before)
            raise
        return True

    def _run_script(self, code: types.CodeType, context: dict[str, Any], injected: dict[str, Any]) -> None:
        budget = CpuBudget(self.limits.cpu_seconds)
        injected['_check_deadline_'] = budget.check
        context.update(injected)
        try:
            budget.run(exec, code, context)
        except (Exception, Timeout) as err:
            wrapped = as_sandbox_error(err, 'script', self.limits)
            if wrapped is err:
                raise
            # Keep the script's traceback so SpiffWorkflow can report the failing line.
            raise wrapped.with_traceback(err.__traceback__) from err
        finally:
            clobbered = self._strip(context, injected)
        if clobbered:
            raise forbidden(f'the script assigned to reserved helper name(s) {clobbered}')
        self._check_result(context, 'task data')

    def run_limited(self, func: Callable[..., Any], value: Any, what: str) -> Any:
        """``func(value)`` for trusted code working on a value BPMN content gave (a timer's date, say): under the
        same CPU limit, with every failure a SandboxError."""
        try:
            return run_pure(self.limits.cpu_seconds, func, value)
        except (Exception, Timeout) as err:
            wrapped = as_sandbox_error(err, what, self.limits)
            if wrapped is err:
                raise
            raise wrapped from err

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise SandboxError('service tasks are not enabled', 'forbidden')

    @staticmethod
    def _strip(context: dict[str, Any], injected: dict[str, Any]) -> list[str]:
        """Remove helpers/guards and non-data values (functions, modules, generators) from the task data."""
        clobbered = sorted(name for name, value in injected.items()
                           if name != '__builtins__' and context.get(name, MISSING) is not value)
        for name in list(context):
            value = context[name]
            if name in injected or callable(value) or isinstance(value, (types.ModuleType, types.GeneratorType)):
                del context[name]
        return clobbered

    def _check_result(self, value: Any, what: str) -> None:
        limit = self.limits.max_result_bytes
        if json_size(value, limit) > limit:
            raise SandboxError(f'{what} exceeds the size limit of {limit} bytes', 'too_large')


def _write_guard(obj: Any) -> Any:
    """RestrictedPython routes `x[k] = v`, `del x[k]` and `x.a = v` through this: only plain dicts/lists."""
    if type(obj) in (dict, list):
        return obj
    raise forbidden(f'modifying a {type(obj).__name__} is not allowed')


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)

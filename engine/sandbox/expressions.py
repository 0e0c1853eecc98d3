"""Expressions: parsing against a node whitelist, and the simpleeval evaluator with the same guards."""
from __future__ import annotations

import ast
import types
from functools import lru_cache
from typing import Any

import simpleeval

from .guards import FORBIDDEN_CALLS, SCALARS, Guards, attribute_problem, forbidden, too_large


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
        if isinstance(node, ast.Attribute) and attribute_problem(node.attr):
            return attribute_problem(node.attr)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            return f'"{node.func.id}" is not available in the sandbox'
    return None


@lru_cache(maxsize=4096)
def parse_expression(expression: str) -> tuple[ast.AST | None, str, str]:
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
    return parse_expression(expression)[2] or None


_DISPLAYS = frozenset({ast.List, ast.Tuple, ast.Set})
_MUTATORS = frozenset({'append', 'extend', 'insert', 'pop', 'remove', 'clear', 'update', 'setdefault', 'popitem',
                       'add', 'discard', 'sort', 'reverse', 'difference_update', 'intersection_update',
                       'symmetric_difference_update'})


def _is_disallowed(value: Any) -> bool:
    try:
        return isinstance(value, types.ModuleType) or (callable(value) and value in simpleeval.DISALLOW_FUNCTIONS)
    except TypeError:  # unhashable callable
        return False


class ExpressionEvaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval with our attribute policy, size checks and a per-environment comprehension bound."""

    def __init__(self, guards: Guards, functions: dict[str, Any], operators: dict[type, Any]) -> None:
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
        if type(result) not in SCALARS:
            if _is_disallowed(result):
                raise simpleeval.FeatureNotAvailable(f'{result!r} is not available in expressions')
            if type(node) in _DISPLAYS and len(result) > self.guards.max_len:  # [*x, *x, *x, ...]
                raise too_large('list/tuple/set display', self.guards.max_len)
        return result

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        value = self._eval(node.value)
        # A condition that appends to a list could grow the case data on every evaluation, unbounded by any
        # script's result check: expressions may only read.
        if node.attr in _MUTATORS and isinstance(value, (list, dict, set, bytearray)):
            raise forbidden(f'an expression may not change data (".{node.attr}()"); do that in a script task')
        return self.guards.get_attribute(value, node.attr)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> str:
        spec = self._eval(node.format_spec) if node.format_spec else ''
        return self.guards.format_value(self._eval(node.value), node.conversion, spec)

"""Scripts: RestrictedPython compilation with our own transformer (no imports, classes, generators or
``with``; a CPU deadline check in every loop), compiled once per text."""
from __future__ import annotations

import ast
import textwrap
import types
from functools import lru_cache
from typing import Iterator

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from .functions import SAFE_FUNCTIONS
from .guards import FORBIDDEN_CALLS, GUARDED_BINOPS, SCRIPT_FILENAME, attribute_problem


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
        problem = None if node.attr.startswith('_') else attribute_problem(node.attr)  # '_' already reported
        if problem:
            self.error(node, problem)
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = GUARDED_BINOPS.get(type(node.op))
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

    # Every loop iteration checks the deadline itself: CPython emits no line events for a loop that jumps to
    # itself (`while True: pass`), and switches the tracer off when it raised in a frame whose exception is
    # ignored (a gc callback, a __del__), so the tracer alone cannot stop a loop.
    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, _deadline_check(node.body[0]))
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _deadline_check(node.body[0]))
        return node

    # A bare `except:` can catch Timeout (CPython also switches the tracer off once it raised), so every
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
def compile_script(script: str) -> tuple[types.CodeType | None, str, str]:
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
    return compile_script(script)[2] or None

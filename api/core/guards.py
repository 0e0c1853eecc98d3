"""Authorization declared on the route, checked before the request body is read.

Placed between ``@blp.<method>`` and ``@blp.arguments``, a guard runs first, so a caller without
the right learns only that (403), or nothing at all about an object outside their jurisdiction
(404) — never how the body should have looked.
"""
from __future__ import annotations

from functools import wraps

from api.core import auth
from engine.errors import NotFound
from engine.models import Case, CaseTask

from .problems import ApiProblem
from .scope import scoped_case
from .services import services

READ_ONLY = frozenset({"auditor", "designer"})


def roles(*codes: str):
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            auth.require_role(*codes)
            return view(*args, **kwargs)
        return guarded
    return decorate


def writer(view):
    """Auditors and designers change nothing on cases."""
    @wraps(view)
    def guarded(*args, **kwargs):
        principal = auth.current()
        if principal.roles and principal.roles <= READ_ONLY:
            raise ApiProblem(403, "auditors and designers change nothing on cases", "审计员和流程设计员不能修改案件")
        return view(*args, **kwargs)
    return guarded


def case_visible(view):
    """The ``case_id`` of the route must be in the caller's jurisdiction (404 otherwise)."""
    @wraps(view)
    def guarded(*args, **kwargs):
        with services().db.read() as session:
            scoped_case(session, auth.current(), kwargs["case_id"])
        return view(*args, **kwargs)
    return guarded


def visible_task(task_id: str) -> CaseTask:
    """The task, if the caller may see it: in their area or their unit, or held or owned by them."""
    principal = auth.current()
    with services().db.read() as session:
        task = session.get(CaseTask, task_id)
        case = session.get(Case, task.case_id) if task else None
    if task is None or not (principal.covers(task.jurisdiction) or principal.covers(case.jurisdiction)
                            or principal.username in (task.assignee, task.owner)):
        raise NotFound(f"task {task_id} does not exist or is outside your jurisdiction")
    return task


def task_visible(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        visible_task(kwargs["task_id"])
        return view(*args, **kwargs)
    return guarded

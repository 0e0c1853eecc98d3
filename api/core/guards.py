"""Authorization declared on the route, checked before the request body is read.

Placed between ``@blp.<method>`` and ``@blp.arguments``, a guard runs first, so a caller without
the right learns only that (403), or nothing at all about an object outside their jurisdiction
(404) — never how the body should have looked.
"""
from __future__ import annotations

from functools import wraps

from flask import g, request
from sqlalchemy import select

from engine.errors import NotFound
from engine.models import Case, CaseTask

from . import auth
from .models import OrgUnit
from .org import record
from .problems import ApiProblem
from .scope import case_in_scope
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


def area_in_scope(session, principal, path: str) -> str:
    """``path`` when it names an existing org unit inside the caller's area: a case lies nowhere
    else (``/macheng/songbu/../guishan/`` is no unit, and another town is not the caller's)."""
    if session.scalar(select(OrgUnit.id).where(OrgUnit.path == path)) is None:
        raise ApiProblem(422, f"there is no org unit with the path {path}", "所选区域不存在，请从区域列表中选择",
                         errors={"jurisdiction": "不是已有的区域"})
    if not principal.covers(path):
        raise ApiProblem(403, f"jurisdiction {path} is outside your area {principal.unit_path}",
                         "不能在本人管辖范围以外登记案件")
    return path


def scoped_case(session, principal, case_id: int) -> Case:
    case = session.scalars(select(Case).where(Case.id == case_id, case_in_scope(principal))).first()
    if case is None:
        raise NotFound(f"case {case_id} does not exist or is outside your jurisdiction")
    if "admin" in principal.roles:
        audit_admin_access(principal, case)
    return case


def audit_admin_access(principal, case: Case) -> None:
    """Administrators manage people, not cases: when one opens a case, it is on the record (once
    per request)."""
    seen = g.setdefault("audited_cases", set())
    if case.id in seen:
        return
    seen.add(case.id)
    svc = services()
    with svc.db.write() as session, session.begin():
        record(session, svc.clock.now(), principal.username, "case_access", "case", case.id, case.jurisdiction,
               after={"case_no": case.case_no, "path": request.path, "method": request.method})


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
                            or principal.offered(task.role, task.jurisdiction)
                            or principal.username in (task.assignee, task.owner)):
        raise NotFound(f"task {task_id} does not exist or is outside your jurisdiction")
    return task


def task_visible(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        visible_task(kwargs["task_id"])
        return view(*args, **kwargs)
    return guarded

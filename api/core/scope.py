"""Jurisdiction: what part of the organisation tree a caller may see."""
from __future__ import annotations

from flask import g, request
from sqlalchemy import ColumnElement, exists, select

from engine.errors import NotFound
from engine.models import Case, CaseTask

from .auth import Principal
from .org import like_prefix, record
from .services import services


def _prefix(principal: Principal) -> str:
    escaped = principal.unit_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def case_in_scope(principal: Principal) -> ColumnElement[bool]:
    """Cases in the caller's area, and cases that sent a task to the caller's unit (a department
    sees the cases whistled to it)."""
    sent_here = exists().where(CaseTask.case_id == Case.id,
                               CaseTask.jurisdiction.like(_prefix(principal), escape="\\"))
    return Case.jurisdiction.like(_prefix(principal), escape="\\") | sent_here


def task_offered_to(principal: Principal) -> ColumnElement[bool]:
    """A task is offered to holders of its lane's role within the case's jurisdiction."""
    return CaseTask.role.in_(sorted(principal.roles)) & CaseTask.jurisdiction.like(_prefix(principal), escape="\\")


def in_area(column, principal: Principal, area=None) -> ColumnElement[bool]:
    """Rows whose area path lies in the caller's jurisdiction, or under one unit of it (a village
    covers its grids)."""
    return column.like(like_prefix(area.path if area is not None else principal.unit_path), escape="\\")


def changes_in_area(model, area_column, principal: Principal, query: dict):
    """The newest change-history rows of a register (census, prevention) in the caller's area,
    optionally for one target."""
    statement = select(model).where(in_area(area_column, principal))
    if query.get("target_type"):
        statement = statement.where(model.target_type == query["target_type"])
    if query.get("target_id") is not None:
        statement = statement.where(model.target_id == query["target_id"])
    return statement.order_by(model.id.desc()).limit(query["limit"])


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

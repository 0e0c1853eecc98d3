"""Jurisdiction: what part of the organisation tree a caller may see."""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists

from engine.models import Case, CaseTask

from .auth import Principal


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

"""Jurisdiction: what part of the organisation tree a caller may see."""
from __future__ import annotations

from sqlalchemy import ColumnElement

from engine.models import Case, CaseTask

from .auth import Principal


def _prefix(principal: Principal) -> str:
    escaped = principal.unit_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def case_in_scope(principal: Principal) -> ColumnElement[bool]:
    return Case.jurisdiction.like(_prefix(principal), escape="\\")


def task_offered_to(principal: Principal) -> ColumnElement[bool]:
    """A task is offered to holders of its lane's role within the case's jurisdiction."""
    return CaseTask.role.in_(sorted(principal.roles)) & CaseTask.jurisdiction.like(_prefix(principal), escape="\\")

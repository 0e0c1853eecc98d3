"""Jurisdiction: what part of the organisation tree a caller may see."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy import ColumnElement, exists, or_, select, true

from engine.models import Case, CaseField, CaseTask

from .auth import Principal
from .org import like_prefix
from .reach import CaseReach

T = TypeVar("T")


def _prefix(principal: Principal) -> str:
    escaped = principal.unit_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def ancestors(path: str) -> list[str]:
    """The unit paths a path lies in, itself included: /a/b/ -> [/a/, /a/b/]."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]


def case_in_scope(principal: Principal, many: bool = False) -> ColumnElement[bool]:
    """Cases in the caller's area, cases that sent a task to the caller's unit (a department
    sees the cases whistled to it), cases with a task offered or given to the caller, and cases
    whose process names the caller's role over their unit as a watcher (read-only).

    ``many=False`` (one case: guards, a case page) asks each case its tasks. ``many=True`` is the
    same scope for lists, counts and KPIs over many cases: the ids read from ONE index of
    ``case_reach`` (api/core/reach.py: every way into a case, kept with the case), instead of a
    union of case-id sets over tasks and fields built at each query (a town officer's was 55,000
    ids at 10,000 cases; issue #19). For the city's own staff the area is the whole city: it comes
    first, as a condition on the case row that nearly every case meets without the reach being read."""
    in_area = Case.jurisdiction.like(_prefix(principal), escape="\\")
    if many and _at_top(principal):
        return in_area | Case.id.in_(reached_ids(principal))
    if many:
        return Case.id.in_(reached_ids(principal))
    sent_here = exists().where(CaseTask.case_id == Case.id,
                               CaseTask.jurisdiction.like(_prefix(principal), escape="\\")
                               | task_offered_to(principal) | (CaseTask.assignee == principal.username))
    return in_area | sent_here | watched_by(principal)


def _at_top(principal: Principal) -> bool:
    """The caller sits at the top of the tree (the city's own staff): their area may hold every case."""
    return len(ancestors(principal.unit_path)) == 1


def scoped_many(session, principal: Principal, answer: Callable[[ColumnElement[bool]], T]) -> T:
    """``answer(scope)`` for a query over many cases, where ``scope`` is ``case_in_scope(principal,
    many=True)`` — or, for a caller at the top of the tree whose area holds every case (the city's
    staff on a city's database), no condition at all: a count or a filtered list then reads only
    the filter's index instead of every case row for its area (issue #19: the city's case list
    took 0.5–1 s at 100,000 cases, most of it the count over the rows).

    Whether every case lies in the area is asked *after* the unscoped answer: cases are never
    deleted, so a case outside the area while it ran is still there, and the answer is then
    computed again with the scope. Exact, at the cost of one index read when no case is outside."""
    if _at_top(principal):
        unscoped = answer(true())
        if session.scalar(select(Case.jurisdiction).where(_outside(session, principal)).limit(1)) is None:
            return unscoped
    return answer(case_in_scope(principal, many=True))


def _outside(session, principal: Principal) -> ColumnElement[bool]:
    """Cases whose area is not under the caller's unit. On PostgreSQL, the two byte ranges around
    the path prefix (``text_pattern_ops`` compares bytes, and the paths end in "/": "/a/" is the
    prefix of exactly the paths from "/a/" up to "/a0"), two probes of the prefix index (migration
    0019); elsewhere NOT LIKE, a scan of the jurisdiction index."""
    column, path = Case.jurisdiction, principal.unit_path
    if session.get_bind().dialect.name == "postgresql" and path.endswith("/"):
        return column.op("~<~")(path) | column.op("~>=~")(path[:-1] + "0")
    return ~column.like(_prefix(principal), escape="\\")


def reached_ids(principal: Principal):
    """The ids of the cases the caller reaches, from ``case_reach``: a unit path (the case's or a
    task's) at or under the caller's unit, a task offered to one of the caller's roles at a unit
    above it (offers within it are among the task paths already), given to the caller, or a
    watcher key of the caller. Each is a range of the (kind, role, key, case_id) index."""
    return select(CaseReach.case_id).where(or_(
        (CaseReach.kind == "path") & (CaseReach.role == "") & CaseReach.key.like(_prefix(principal), escape="\\"),
        (CaseReach.kind == "offer") & CaseReach.role.in_(sorted(principal.roles))
        & CaseReach.key.in_(ancestors(principal.unit_path)),
        (CaseReach.kind == "user") & (CaseReach.role == "") & (CaseReach.key == principal.username),
        (CaseReach.kind == "watch") & (CaseReach.role == "") & CaseReach.key.in_(watcher_keys(principal))))


def watcher_keys(principal: Principal) -> list[str]:
    """``role@unit`` for every role of the caller and every unit they sit in or under."""
    return sorted(f"{role}@{unit}" for role in principal.roles for unit in ancestors(principal.unit_path))


def watched_by(principal: Principal) -> ColumnElement[bool]:
    """Cases whose data lists the caller among its ``watchers`` (``role@unit`` strings a process
    sets, indexed in ``case_fields``): the police liaison of a town follows the 110 leads sent to
    the grids of that town (双网融合) without a task of their own."""
    return exists().where(CaseField.case_id == Case.id, CaseField.name == "watchers",
                          CaseField.value.in_(watcher_keys(principal)))


def task_offered_to(principal: Principal) -> ColumnElement[bool]:
    """A task is offered to holders of its lane's role at its unit, above it or within it (see
    Principal.offered)."""
    return CaseTask.role.in_(sorted(principal.roles)) & (
        CaseTask.jurisdiction.like(_prefix(principal), escape="\\")
        | CaseTask.jurisdiction.in_(ancestors(principal.unit_path)))


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

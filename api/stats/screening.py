"""应排尽排: the screening a unit recorded in a period, which a safety rating needs before it may say
平安. A unit that screened nothing has no evidence of safety, so its empty rates (not applicable)
must not pass for met. Counted per village or town, each in one SQL aggregate:

* ``screened`` — disputes and leads registered there (the KPI of the same name);
* ``visits`` — door-to-door census visits (入户走访) of its grids that started in the period;
* ``lists`` — joint risk screening lists (联合排查) drawn up for it or its grids in the period.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.census.service import CensusVisit
from api.core.models import OrgUnit
from api.core.org import like_prefix
from api.prevention.service import ScreeningList

from .facts import Filters


def _per_unit(session: Session, level: str, area: str, model, path_column, time_column,
              filters: Filters) -> dict[str, int]:
    """Rows of one table per unit of ``level`` whose path contains the row's area path."""
    statement = (select(OrgUnit.path, func.count()).select_from(model)
                 .join(OrgUnit, func.substr(path_column, 1, func.length(OrgUnit.path)) == OrgUnit.path)
                 .where(OrgUnit.kind == level, path_column.like(like_prefix(area), escape="\\"))
                 .group_by(OrgUnit.path))
    if filters.start is not None:
        statement = statement.where(time_column >= filters.start)
    if filters.end is not None:
        statement = statement.where(time_column < filters.end)
    return dict(session.execute(statement).all())


def records(session: Session, level: str, area: str, filters: Filters) -> dict[str, dict[str, int]]:
    """Unit path → ``{visits, lists}`` for the units of ``level`` under ``area`` that have any."""
    visits = _per_unit(session, level, area, CensusVisit, CensusVisit.grid_path, CensusVisit.started_at, filters)
    lists = _per_unit(session, level, area, ScreeningList, ScreeningList.area_path, ScreeningList.created_at, filters)
    return {path: {"visits": int(visits.get(path, 0)), "lists": int(lists.get(path, 0))}
            for path in set(visits) | set(lists)}


def explain(screened: int, visits: int, lists: int) -> str:
    """The record behind a rating, in Chinese, for the answer and the page."""
    if not (screened or visits or lists):
        return "本期未登记任何排查记录（无纠纷线索、无入户走访、无联合排查），应排尽排，无排查不评平安"
    return f"本期排查记录：登记纠纷线索 {screened} 件、入户走访 {visits} 次、联合排查 {lists} 次"

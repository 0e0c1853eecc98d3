"""The practice's KPIs that are not about one case cohort (docs/statistics.md):

* visit hours per grid worker against the 4 hours a day the practice asks (入户走访, ``census_visits``);
* census round completion per grid (应排尽排, ``census_rounds`` and their items);
* whistle response and scores per department (吹哨报到: the ``whistle_ack`` tasks offered in the
  department, and the ``department_scores`` the whistle process records).

Each is one SQL aggregate over rows of the caller's jurisdiction and window; the whistle scores
are read from the data of the cases found by that query (a list per case, which no index holds).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from api.core.auth import Principal
from api.core.models import OrgUnit
from api.core.org import like_prefix
from api.core.scope import case_in_scope
from api.census.service import DAILY_TARGET_HOURS, CensusRound, CensusRoundItem, CensusVisit
from engine.clock import CHINA
from engine.models import Case, CaseTask

from .facts import Filters, registered


def _seconds(later, earlier, dialect: str):
    """``later - earlier`` in seconds, in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400


def _area(principal: Principal, filters: Filters) -> str:
    return filters.area or principal.unit_path


def visit_hours(session: Session, principal: Principal, filters: Filters) -> list[dict[str, Any]]:
    """Per grid worker: visit hours in the window, the days with visits, the days with at least
    4 hours, and the hours per visited day. As on the census page, the part of a visit inside a
    China calendar day counts on that day (a visit across midnight counts on both)."""
    statement = (select(CensusVisit.worker, CensusVisit.started_at, CensusVisit.ended_at)
                 .where(CensusVisit.grid_path.like(like_prefix(_area(principal, filters)), escape="\\")))
    if filters.start is not None:
        statement = statement.where(CensusVisit.ended_at > filters.start)
    if filters.end is not None:
        statement = statement.where(CensusVisit.started_at < filters.end)
    seconds: dict[tuple[str, date], float] = defaultdict(float)
    visits: dict[str, int] = defaultdict(int)
    for worker, started, ended in session.execute(statement):
        started = max(started, filters.start) if filters.start else started
        ended = min(ended, filters.end) if filters.end else ended
        visits[worker] += 1
        for day, part in _by_day(started, ended):
            seconds[(worker, day)] += part
    per_worker: dict[str, dict[str, Any]] = {}
    for (worker, _), part in sorted(seconds.items()):
        hours = part / 3600
        entry = per_worker.setdefault(worker, {"worker": worker, "hours": 0.0, "visits": visits[worker], "days": 0,
                                               "days_on_target": 0})
        entry["hours"] += hours
        entry["days"] += 1
        entry["days_on_target"] += int(round(hours, 2) >= DAILY_TARGET_HOURS)
    for entry in per_worker.values():
        entry["hours"] = round(entry["hours"], 2)
        entry["hours_per_day"] = round(entry["hours"] / entry["days"], 2)
        entry["target_hours"] = DAILY_TARGET_HOURS
        entry["on_target_rate"] = round(entry["days_on_target"] / entry["days"], 4)
    return [per_worker[w] for w in sorted(per_worker)]


def _by_day(started: datetime, ended: datetime):
    """(China day, seconds) of the pieces of [started, ended) in each calendar day."""
    at = started.astimezone(CHINA)
    end = ended.astimezone(CHINA)
    while at < end:
        midnight = datetime.combine(at.date() + timedelta(days=1), time(0), tzinfo=CHINA)
        piece_end = min(midnight, end)
        yield at.date(), (piece_end - at).total_seconds()
        at = piece_end


def census_rounds(session: Session, principal: Principal, filters: Filters) -> list[dict[str, Any]]:
    """Per grid: the weekly rounds that started in the window, their listed items, those verified,
    those verified within the round's window, and the completion rate (应排尽排率 = verified in
    time ÷ listed)."""
    in_time = and_(CensusRoundItem.verified_at.is_not(None), CensusRoundItem.verified_at <= CensusRound.window_end)
    statement = (select(CensusRound.grid_path, func.count(func.distinct(CensusRound.id)).label("rounds"),
                        func.count(CensusRoundItem.id).label("items"),
                        func.count(CensusRoundItem.verified_at).label("verified"),
                        func.coalesce(func.sum(case((in_time, 1), else_=0)), 0).label("verified_in_time"))
                 .select_from(CensusRound).outerjoin(CensusRoundItem, CensusRoundItem.round_id == CensusRound.id)
                 .where(CensusRound.grid_path.like(like_prefix(_area(principal, filters)), escape="\\"))
                 .group_by(CensusRound.grid_path).order_by(CensusRound.grid_path))
    if filters.start is not None:
        statement = statement.where(CensusRound.window_start >= filters.start)
    if filters.end is not None:
        statement = statement.where(CensusRound.window_start < filters.end)
    rows = session.execute(statement).all()
    names = _names(session, [row.grid_path for row in rows])
    return [{"grid_path": row.grid_path, "grid": names.get(row.grid_path, row.grid_path), "rounds": row.rounds,
             "items": row.items, "verified": row.verified, "verified_in_time": int(row.verified_in_time),
             "completion_rate": round(int(row.verified_in_time) / row.items, 4) if row.items else None}
            for row in rows]


def departments(session: Session, principal: Principal, filters: Filters) -> list[dict[str, Any]]:
    """Per department a whistle reached (in cases registered in the window, in the caller's
    jurisdiction): whistles (``whistle_ack`` tasks offered there), acknowledged ones, the mean hours
    to acknowledge, late acknowledgements and exemptions, and the mean score of 评哨."""
    dialect = session.get_bind().dialect.name
    acks = _acks(principal, filters)
    acked = acks.c.state == "completed"
    statement = (select(acks.c.jurisdiction.label("dept"), func.count().label("whistles"),
                        func.coalesce(func.sum(case((acked, 1), else_=0)), 0).label("acknowledged"),
                        func.avg(case((acked, _seconds(acks.c.closed_at, acks.c.created_at, dialect)))).label("seconds"),
                        func.count(func.distinct(acks.c.case_id)).label("cases"))
                 .group_by(acks.c.jurisdiction))
    rows = session.execute(statement).all()
    scores = _scores(session, [case_id for (case_id,) in session.execute(select(acks.c.case_id).distinct())])
    names = _names(session, [row.dept for row in rows])
    out = []
    for row in sorted(rows, key=lambda r: r.dept):
        scored = scores.get(row.dept, {"records": 0, "late": 0, "exempted": 0, "scores": []})
        out.append({"dept": row.dept, "name": names.get(row.dept, row.dept), "cases": row.cases,
                    "whistles": row.whistles, "acknowledged": int(row.acknowledged),
                    "response_hours": round(float(row.seconds) / 3600, 2) if row.seconds is not None else None,
                    "ack_late": scored["late"], "exempted": scored["exempted"], "scored": len(scored["scores"]),
                    "mean_score": round(sum(scored["scores"]) / len(scored["scores"]), 1) if scored["scores"] else None})
    return out


def _acks(principal: Principal, filters: Filters):
    """The whistle acknowledge (应哨) tasks of the cases registered in the window and visible to
    the caller: each is one whistle to the department the task was offered in."""
    cases = registered(select(Case.id).where(case_in_scope(principal, many=True)), filters)
    return (select(CaseTask.case_id, CaseTask.jurisdiction, CaseTask.state, CaseTask.created_at, CaseTask.closed_at)
            .where(CaseTask.form_key == "whistle_ack", CaseTask.state != "cancelled", CaseTask.case_id.in_(cases))
            .subquery("acks"))


def whistled(session: Session, principal: Principal, filters: Filters, dept: str) -> dict[int, int]:
    """The drill-down of a department's ``whistles``: case id → whistles to ``dept`` in it (rounds),
    from the same rows as ``departments``; the values add up to its ``whistles``, the keys are its
    ``cases``."""
    acks = _acks(principal, filters)
    rows = session.execute(select(acks.c.case_id, func.count()).where(acks.c.jurisdiction == dept)
                           .group_by(acks.c.case_id))
    return {case_id: int(n) for case_id, n in rows}


def _scores(session: Session, case_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Per department, from the ``department_scores`` each evaluated whistle recorded: the records,
    late acknowledgements, exemptions and the scores given."""
    per_dept: dict[str, dict[str, Any]] = defaultdict(lambda: {"records": 0, "late": 0, "exempted": 0, "scores": []})
    if not case_ids:
        return per_dept
    for (data,) in session.execute(select(Case.data).where(Case.id.in_(case_ids))):
        for record in (data or {}).get("department_scores") or []:
            if not isinstance(record, dict) or not isinstance(record.get("dept"), str):
                continue
            entry = per_dept[record["dept"]]
            entry["records"] += 1
            entry["late"] += int(bool(record.get("ack_late")))
            entry["exempted"] += int(bool(record.get("exempted")))
            if isinstance(record.get("score"), (int, float)):
                entry["scores"].append(record["score"])
    return per_dept


def _names(session: Session, paths: list[str]) -> dict[str, str]:
    if not paths:
        return {}
    return dict(session.execute(select(OrgUnit.path, OrgUnit.name).where(OrgUnit.path.in_(sorted(set(paths))))).all())

"""Drill-down (下钻): the cases behind a KPI figure.

A figure is ``sum(facts.<kpi>)`` and its list is the cases whose ``facts.<kpi>`` is not 0, both over
the one facts query of ``facts.py`` with the same filters (registration window, area, group). A
rate drills down to its numerator. ``overdue_tasks`` counts tasks, so each listed case carries its
own number of overdue tasks (``weight``) and the weights add up to the figure.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from api.core.auth import Principal
from api.core.problems import ApiProblem

from .facts import COUNTS, GROUPINGS, RATES, Filters, facts

# What each KPI's list holds, in Chinese, for the list's heading.
LABELS = {
    "screened": "排查数", "cases": "纠纷案件数", "leads": "苗头线索数", "resolved": "化解数", "transferred": "依法导入数",
    "closed": "办结数", "closed_on_time": "按期办结数", "revisited": "回访数", "satisfied": "满意数",
    "overdue_tasks": "超期任务数", "overdue_cases": "超期案件数", "emergencies": "紧急警情数", "petitions": "信访渠道数",
    "recurrences": "反弹数", "repeats": "反复纠纷数", "one_key_calls": "一键呼叫数", "one_key_answered": "一键呼叫已响应数",
    "one_key_in_time": "一键呼叫按时响应数", "first_signed": "首办已签收数", "first_signed_on_time": "首办按时签收数",
    "whistles": "部门应哨数", "resident_rated": "群众评价数（解纷码）", "resident_satisfied": "群众满意数（解纷码）",
    "red_cases": "红色案件数", "leader_cases": "领导包案数", "red_revisits": "红色案件每周回访次数",
}
# A rate's list is its numerator's; the mean response time lists the answered calls it averages.
ALIASES = {**{rate: numerator for rate, (numerator, _) in RATES.items()}, "one_key_response_seconds": "one_key_answered"}
KPIS = tuple(COUNTS) + tuple(ALIASES)


def counted_kpi(kpi: str) -> str:
    """The count KPI whose cases stand behind ``kpi``; 404 for a name that is no KPI."""
    name = ALIASES.get(kpi, kpi)
    if name not in COUNTS:
        raise ApiProblem(404, f"no KPI named {kpi!r}; one of {', '.join(KPIS)}", "没有这个统计指标")
    return name


def behind(principal: Principal, filters: Filters, now: datetime, dialect: str, kpi: str,
           group_by: str | None = None, key: str | None = None):
    """``(case_id, weight)`` of the cases behind ``kpi``: the rows of the facts query where it is set,
    limited to one group (``group_by`` = ``key``; no key = the group without one) when asked."""
    name = counted_kpi(kpi)
    rows = facts(principal, filters, now, dialect, group_by)
    if name == "screened":
        statement = select(rows.c.case_id, literal(1).label("weight"))
    else:
        statement = select(rows.c.case_id, rows.c[name].label("weight")).where(rows.c[name] > 0)
    if group_by:
        if group_by not in GROUPINGS:
            raise ApiProblem(422, f"group_by must be one of {', '.join(GROUPINGS)}", "分组方式无效")
        column = rows.c[group_by]
        statement = statement.where(column.is_(None) if key in (None, "") else column == key)
    return statement.subquery("behind")


def weights(session: Session, principal: Principal, filters: Filters, now: datetime, kpi: str,
            group_by: str | None = None, key: str | None = None) -> dict[int, int]:
    """case id → what it adds to the figure (its overdue tasks for overdue_tasks, else 1); the
    figure is the sum of the values."""
    rows = behind(principal, filters, now, session.get_bind().dialect.name, kpi, group_by, key)
    return {case_id: int(weight) for case_id, weight in session.execute(select(rows.c.case_id, rows.c.weight))}

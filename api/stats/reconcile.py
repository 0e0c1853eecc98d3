"""Reconciliation (对账): every dispute registered in a period, accounted for once.

Each P1 case and P6 lead registered in the window (same cohort, area and jurisdiction as the KPIs)
falls in exactly one part: the counted ones (the rows of ``facts.py``, i.e. 排查数) are resolved,
transferred, closed unresolved or still open; the others are shown with the reason they are not
counted — merged duplicates, leads converted into a case or linked to an open one, false alarms,
cancelled registrations. One SQL ``CASE`` assigns the part, so the parts add up to the total by
construction, and the counted parts add up to the KPI 排查数 because they are the facts' rows.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from api.core.auth import Principal
from api.core.scope import case_in_scope
from engine.models import Case, CaseField

from .facts import CASE_PROCESS, COUNTED_PROCESSES, Filters, registered, facts

# (key, Chinese label, counted in 排查数?) in the order a report lists them.
PARTS = (("resolved", "化解", True), ("transferred", "依法导入", True), ("unresolved", "办结未化解", True),
         ("open", "在办", True), ("merged", "重复登记并入原案", False), ("converted", "线索已转为案件", False),
         ("linked", "线索并入在办案件", False), ("false_alarm", "误报", False), ("cancelled", "作废", False))
LABELS = {key: label for key, label, _ in PARTS}
COUNTED = tuple(key for key, _, counted in PARTS if counted)
DUPLICATES = ("merged", "linked")


def _parts(principal: Principal, filters: Filters, now: datetime, dialect: str):
    """One row per registered case or lead: its id, number and part."""
    counted = facts(principal, filters, now, dialect)
    lead_result = (select(CaseField.value).where(CaseField.case_id == Case.id, CaseField.name == "lead_result")
                   .limit(1).scalar_subquery())
    missing = counted.c.case_id.is_(None)
    part = case(
        (Case.status == "cancelled", "cancelled"),
        (and_(missing, Case.process_key == CASE_PROCESS), "merged"),
        (missing, lead_result),  # converted, linked or false_alarm: the only leads the facts leave out
        (counted.c.resolved == 1, "resolved"),
        (counted.c.transferred == 1, "transferred"),
        (counted.c.closed == 1, "unresolved"),
        else_="open")
    statement = (select(Case.id.label("case_id"), Case.case_no, Case.process_key, part.label("part"))
                 .select_from(Case).outerjoin(counted, counted.c.case_id == Case.id)
                 .where(Case.process_key.in_(COUNTED_PROCESSES), case_in_scope(principal, many=True)))
    return registered(statement, filters).subquery("parts")


def reconcile(session: Session, principal: Principal, filters: Filters, now: datetime) -> dict[str, Any]:
    """``{total, screened, parts: [{key, label, counted, count}], duplicates: [{case_no, part, of}]}``;
    ``balanced`` says the parts add up to the total and the counted parts to 排查数."""
    dialect = session.get_bind().dialect.name
    rows = _parts(principal, filters, now, dialect)
    counts = dict(session.execute(select(rows.c.part, func.count()).group_by(rows.c.part)).all())
    parts = [{"key": key, "label": label, "counted": counted, "count": int(counts.pop(key, 0))}
             for key, label, counted in PARTS]
    # A part the CASE did not foresee (a new lead result) is listed, never dropped from the total.
    parts += [{"key": str(key), "label": f"其他（{key}）", "counted": False, "count": int(n)} for key, n in counts.items()]
    total = session.scalar(select(func.count()).select_from(rows))
    screened = session.scalar(select(func.count()).select_from(facts(principal, filters, now, dialect)))
    duplicates = _duplicates(session, rows)
    return {"total": int(total), "screened": int(screened), "parts": parts, "duplicates": duplicates,
            "balanced": sum(p["count"] for p in parts) == total
            and sum(p["count"] for p in parts if p["key"] in COUNTED) == screened}


def _duplicates(session: Session, rows) -> list[dict[str, Any]]:
    """The merged registrations and linked leads, each with the case it joined when recorded."""
    listed = session.execute(select(rows.c.case_no, rows.c.part, Case.data).join(Case, Case.id == rows.c.case_id)
                             .where(rows.c.part.in_(DUPLICATES)).order_by(rows.c.case_no)).all()
    return [{"case_no": case_no, "part": part, "label": LABELS[part],
             "of": (data or {}).get("duplicate_of") or (data or {}).get("linked_case_no") or ""}
            for case_no, part, data in listed]

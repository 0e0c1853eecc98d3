"""Prevention work (防范在前): risk-family joint screening lists (婚姻家庭风险联合排查), key-person
follow-up plans (重点人员跟进) and patrol teams with their logs (巡逻队).

Every row carries ``area_path``, the materialised path of the village or grid it belongs to, so
scoping is the same prefix test as for cases. Names and ID numbers typed as free text are sealed by
``api.core.pii.Vault`` and shown masked. ``prevention_changes`` keeps who changed what, when, with the
before and after masked; a follow-up plan's contacts live in its case's event log and are merged
into the plan's history when it is read.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.census.service import CensusPerson
from api.core.auth import Principal
from api.core.models import ChangeRecord, OrgUnit
from api.core.org import in_scope
from api.core.pii import masked
from api.core.problems import ApiProblem
from engine.clock import CHINA
from engine.models import BigId, Base, Case, CaseEvent

# The colours of workflows/bpmn/risk_grading.dmn, lowest first (低 / 中 / 高 / 红).
RISK_LEVELS = ("green", "yellow", "orange", "red")
RISK_NAMES_ZH = {"green": "绿色（低）", "yellow": "黄色（中）", "orange": "橙色（高）", "red": "红色"}
ENTRY_STATUSES = ("open", "watch", "resolved", "escalated")
AREA_KINDS = ("village", "grid")
READ_ONLY = frozenset({"auditor", "designer"})
FOLLOWUP_PROCESS = "key_person_followup"
PLAN_CLOSED_MESSAGE = "keyperson_plan_closed"
CONTACT_TASK = "contact"
MAX_PATROL = timedelta(hours=24)


class ScreeningList(Base):
    """One joint screening (联合排查) of risk families in a village or grid, e.g. for a month."""

    __tablename__ = "screening_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    title: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(40), default="")
    screeners: Mapped[list[Any]]  # units taking part: 妇联, 派出所, 村调委会 …
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScreeningEntry(Base):
    """A household or person on a screening list: indicators, risk colour, status, the case it became."""

    __tablename__ = "screening_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("screening_lists.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("census_people.id"), nullable=True)
    household_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("census_items.id"), nullable=True)
    subject: Mapped[str] = mapped_column(String(200))  # a name or household as written
    personal: Mapped[dict[str, Any]]  # sealed id_no / phone typed for someone not in the census
    indicators: Mapped[list[Any]]
    risk_level: Mapped[str] = mapped_column(String(10))
    screeners: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FollowupPlan(Base):
    """A follow-up plan for a census person: contact every ``interval_days`` days, run as a case of
    the ``key_person_followup`` process in the person's grid."""

    __tablename__ = "followup_plans"
    __table_args__ = (Index("ix_followup_plans_person_status", "person_id", "status"),
                      Index("uq_followup_plans_active_person", "person_id", unique=True,
                            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("census_people.id"))
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    interval_days: Mapped[int]
    responsible_user: Mapped[str | None] = mapped_column(String(100), nullable=True)
    responsible_unit: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))  # active, closed
    case_id: Mapped[int] = mapped_column(BigId)
    case_no: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PatrolTeam(Base):
    __tablename__ = "patrol_teams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    name: Mapped[str] = mapped_column(String(200))
    members: Mapped[list[Any]]  # [{name, username?}]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class PatrolLog(Base):
    __tablename__ = "patrol_logs"
    __table_args__ = (Index("ix_patrol_logs_team_date", "team_id", "patrol_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("patrol_teams.id"))
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    patrol_date: Mapped[date] = mapped_column(Date)  # the local (China) day it started
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    route: Mapped[str] = mapped_column(String(300))
    findings: Mapped[str] = mapped_column(Text, default="")
    issues: Mapped[list[Any]]  # [{description, case_id?}]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class PreventionChange(ChangeRecord, Base):
    """One create or change of a prevention row, values masked."""

    __tablename__ = "prevention_changes"
    __table_args__ = (Index("ix_prevention_changes_target", "target_type", "target_id"),)

    area_path: Mapped[str] = mapped_column(String(400), index=True)  # target_type: list, entry, plan, team, log


# --- scoping and access ----------------------------------------------------------------------

def not_found(what: str, ident: Any) -> ApiProblem:
    return ApiProblem(404, f"{what} {ident} does not exist or is outside your jurisdiction",
                      "未找到，或不在您的管辖范围内")


def invalid(field: str, detail: str, message: str) -> ApiProblem:
    return ApiProblem(422, detail, "数据校验未通过，请按提示修改", errors={field: message})


def require_writer(principal: Principal) -> None:
    if principal.roles and principal.roles <= READ_ONLY:
        raise ApiProblem(403, "auditors and designers change nothing in prevention work",
                         "审计员和流程设计员不能修改防范工作数据")


def scoped_area(session: Session, principal: Principal, code_or_path: str) -> OrgUnit:
    """A village or grid by code or path, in the caller's area (404 otherwise)."""
    value = (code_or_path or "").strip()
    column = OrgUnit.path if value.startswith("/") else OrgUnit.code
    unit = session.scalars(select(OrgUnit).where(column == value)).first()
    if unit is None or unit.kind not in AREA_KINDS or not in_scope(unit.path, principal.unit_path):
        raise not_found("village or grid", value)
    return unit


def scoped_row(session: Session, model, ident: int, principal: Principal, what: str):
    row = session.get(model, ident)
    if row is None or not in_scope(row.area_path, principal.unit_path):
        raise not_found(what, ident)
    return row


def add_recorded(session: Session, row, target_type: str, snapshot: Callable[[Any], dict], actor: str,
                 now: datetime) -> None:
    """Insert a prevention row with the 'create' entry of its history (the row's id names it)."""
    session.add(row)
    session.flush()
    record_change(session, now, actor, target_type, row.id, row.area_path, "create", None, snapshot(row))


def record_change(session: Session, now: datetime, actor: str, target_type: str, target_id: int, area_path: str,
                  action: str, before: dict | None, after: dict | None) -> None:
    session.add(PreventionChange(target_type=target_type, target_id=target_id, area_path=area_path, action=action,
                                 actor=actor, at=now, before=history_json(before), after=history_json(after)))


def history_json(value: Any) -> Any:
    """History is JSON: dates and times as ISO text."""
    if isinstance(value, dict):
        return {k: history_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [history_json(v) for v in value]
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def scoped_person(session: Session, principal: Principal, person_id: int, field: str) -> CensusPerson:
    person = session.get(CensusPerson, person_id)
    if person is None or not in_scope(person.grid_path, principal.unit_path):
        raise invalid(field, f"census person {person_id} does not exist in your area", "普查人员不存在或不在您的管辖范围内")
    return person


# --- views (personal data masked) ------------------------------------------------------------

def list_view(row: ScreeningList) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ("id", "area_path", "title", "period", "screeners", "created_by",
                                         "created_at", "updated_at")}


def entry_view(session: Session, entry: ScreeningEntry) -> dict[str, Any]:
    out = {c: getattr(entry, c) for c in ("id", "list_id", "area_path", "person_id", "household_id", "subject",
                                          "indicators", "risk_level", "screeners", "status", "case_id", "note",
                                          "created_at", "updated_at")}
    out["id_no"] = masked(entry.personal.get("id_no"))
    out["phone"] = masked(entry.personal.get("phone"))
    out["person"] = person_brief(session.get(CensusPerson, entry.person_id)) if entry.person_id else None
    out["case_no"] = session.scalar(select(Case.case_no).where(Case.id == entry.case_id)) if entry.case_id else None
    return out


def entry_snapshot(entry: ScreeningEntry) -> dict[str, Any]:
    """What history keeps of an entry: the changeable fields, personal data masked."""
    return {"subject": entry.subject, "person_id": entry.person_id, "household_id": entry.household_id,
            "id_no": masked(entry.personal.get("id_no")), "phone": masked(entry.personal.get("phone")),
            "indicators": list(entry.indicators), "risk_level": entry.risk_level,
            "screeners": list(entry.screeners), "status": entry.status, "case_id": entry.case_id, "note": entry.note}


def person_brief(person: CensusPerson | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "grid_path": person.grid_path, "id_no": masked(person.id_no),
            "phone": masked(person.phone) if person.phone else None, "flags": list(person.flags)}


def plan_snapshot(plan: FollowupPlan) -> dict[str, Any]:
    return {c: getattr(plan, c) for c in ("interval_days", "responsible_user", "responsible_unit", "reason",
                                          "status", "close_reason")}


def plan_view(session: Session, plan: FollowupPlan) -> dict[str, Any]:
    out = {c: getattr(plan, c) for c in ("id", "person_id", "area_path", "interval_days", "responsible_user",
                                         "responsible_unit", "reason", "status", "case_id", "case_no", "created_by",
                                         "created_at", "closed_at", "closed_by", "close_reason")}
    out["person"] = person_brief(session.get(CensusPerson, plan.person_id))
    return out


def plan_history(session: Session, plan: FollowupPlan) -> list[dict[str, Any]]:
    """The plan's own changes and the contacts recorded in its case's contact tasks, oldest first."""
    rows = [{"at": c.at, "actor": c.actor, "action": c.action, "data": c.after or {}}
            for c in session.scalars(select(PreventionChange).where(PreventionChange.target_type == "plan",
                                                                    PreventionChange.target_id == plan.id))]
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == plan.case_id,
                                                         CaseEvent.type == "task_completed")):
        if (event.payload.get("task") or {}).get("element_id") == CONTACT_TASK:
            rows.append({"at": event.at, "actor": event.actor, "action": "contact",
                         "data": masked(event.payload.get("data") or {})})
    return sorted(rows, key=lambda r: r["at"])


def team_view(team: PatrolTeam) -> dict[str, Any]:
    return {c: getattr(team, c) for c in ("id", "area_path", "name", "members", "active", "created_by", "created_at")}


def log_view(log: PatrolLog) -> dict[str, Any]:
    out = {c: getattr(log, c) for c in ("id", "team_id", "area_path", "patrol_date", "started_at", "ended_at",
                                        "route", "findings", "issues", "created_by", "created_at")}
    out["hours"] = round((log.ended_at - log.started_at).total_seconds() / 3600, 2)
    return out


# --- patrol hours ----------------------------------------------------------------------------

def local_day(instant: datetime) -> date:
    return instant.astimezone(CHINA).date()


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-03' → (1 March, 1 April)."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    return first, date(year + number // 12, number % 12 + 1, 1)


def patrol_hours(teams: dict[int, PatrolTeam], logs: list[PatrolLog], month: str) -> list[dict[str, Any]]:
    """Total patrol hours per team in a month (a patrol counts in the month of its start day)."""
    totals = {team_id: {"team_id": team_id, "team_name": team.name, "area_path": team.area_path, "month": month,
                        "hours": 0.0, "patrols": 0} for team_id, team in teams.items()}
    for log in logs:
        entry = totals[log.team_id]
        entry["hours"] += (log.ended_at - log.started_at).total_seconds() / 3600
        entry["patrols"] += 1
    for entry in totals.values():
        entry["hours"] = round(entry["hours"], 2)
    return sorted(totals.values(), key=lambda e: e["team_id"])

"""Prevention work: risk-family joint screening lists, key-person follow-up plans, patrol teams and logs.

Every read and write is limited to the caller's area: a village, grid, list, entry, plan, team or
log outside it answers 404. Auditors and designers only read. Names typed as free text are kept,
ID numbers and phones are sealed and shown masked. A follow-up plan runs as a case of the
``key_person_followup`` process (workflows/bpmn): its contact tasks are ordinary user tasks in the
grid workers' inbox, and closing the plan ends the case by the ``keyperson_plan_closed`` message.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta, timezone
from functools import wraps

from flask_smorest import Blueprint
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.census.ledger import PHONE, id_problem
from api.census.service import CensusItem, CensusPerson
from api.core import auth
from api.core.org import in_scope
from api.core.problems import ApiProblem
from api.core.scope import case_in_scope, changes_in_area, in_area
from api.core.services import services
from engine.errors import AlreadyDone, Conflict, NotFound
from engine.models import Case
from engine.store import insert_once

from .schemas import (EntriesQuery, EntryIn, EntryOut, EntryPatch, EscalateIn, PreventionChangeOut,
                      PreventionChangesQuery, HoursOut, HoursQuery, ListsQuery, LogIn, LogOut, LogsQuery, PlanClose,
                      PlanDetail, PlanIn, PlanOut, PlansQuery, ScreeningListDetail, ScreeningListIn, ScreeningListOut,
                      TeamIn, TeamOut, TeamsQuery)
from .service import (FOLLOWUP_PROCESS, MAX_PATROL, PLAN_CLOSED_MESSAGE, FollowupPlan, PatrolLog, PatrolTeam,
                      PreventionChange, ScreeningEntry, ScreeningList, add_recorded, entry_snapshot, entry_view,
                      invalid, list_view, local_day, log_view, month_bounds, patrol_hours, plan_history, plan_snapshot,
                      plan_view, record_change, require_writer, scoped_area, scoped_person, scoped_row, team_view)

blp = Blueprint("prevention", __name__, url_prefix="/api/v1/prevention",
                description="Prevention work: risk-family screening, key-person follow-up, patrols (防范工作)")


def writer(view):
    """Placed between @blp.<method> and @blp.arguments: runs before the body is read."""
    @wraps(view)
    def guarded(*args, **kwargs):
        require_writer(auth.current())
        return view(*args, **kwargs)
    return guarded


def _optional_area(session, principal, query):
    return scoped_area(session, principal, query["area"]) if query.get("area") else None


def _scoped_case_id(session, principal, case_id: int, field: str) -> Case:
    case = session.scalars(select(Case).where(Case.id == case_id, case_in_scope(principal))).first()
    if case is None:
        raise invalid(field, f"case {case_id} does not exist in your area", "案件不存在或不在您的管辖范围内")
    return case


def _sealed_personal(body: dict) -> dict:
    """Check and seal the ID number and phone typed for someone not in the census."""
    plain = {}
    if body.get("id_no"):
        value = body["id_no"].replace(" ", "").upper()
        problem = id_problem(value)
        if problem:
            raise invalid("id_no", problem[0], problem[1])
        plain["id_no"] = value
    if body.get("phone"):
        value = body["phone"].replace(" ", "")
        if not PHONE.match(value):
            raise invalid("phone", "a mobile or landline number is needed", "电话应为 11 位手机号或带区号的固定电话")
        plain["phone"] = value
    return services().vault.seal(plain)


# --- screening lists -------------------------------------------------------------------------

@blp.post("/screening-lists")
@writer
@blp.arguments(ScreeningListIn)
@blp.response(201, ScreeningListOut)
def create_list(body):
    """A joint screening list (联合排查) for a village or grid of your area."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        area = scoped_area(session, principal, body["area"])
        row = ScreeningList(area_path=area.path, title=body["title"].strip(), period=body["period"].strip(),
                            screeners=body["screeners"], created_by=principal.username, created_at=now,
                            updated_at=now)
        add_recorded(session, row, "list", list_view, principal.username, now)
        return list_view(row)


@blp.get("/screening-lists")
@blp.arguments(ListsQuery, location="query")
@blp.response(200, ScreeningListOut(many=True))
def list_lists(query):
    """Screening lists of your area (or of one village or grid), newest first."""
    principal = auth.current()
    with services().db.read() as session:
        area = _optional_area(session, principal, query)
        statement = (select(ScreeningList).where(in_area(ScreeningList.area_path, principal, area))
                     .order_by(ScreeningList.id.desc()).limit(query["limit"]).offset(query["offset"]))
        return [list_view(r) for r in session.scalars(statement)]


@blp.get("/screening-lists/<int:list_id>")
@blp.arguments(EntriesQuery, location="query")
@blp.response(200, ScreeningListDetail)
def get_list(query, list_id: int):
    """A list with its entries (personal data masked), optionally only one status or risk level."""
    principal = auth.current()
    with services().db.read() as session:
        row = scoped_row(session, ScreeningList, list_id, principal, "screening list")
        statement = select(ScreeningEntry).where(ScreeningEntry.list_id == row.id)
        for name in ("status", "risk_level"):
            if query.get(name):
                statement = statement.where(getattr(ScreeningEntry, name) == query[name])
        entries = [entry_view(session, e) for e in session.scalars(statement.order_by(ScreeningEntry.id))]
        return {**list_view(row), "entries": entries}


@blp.post("/screening-lists/<int:list_id>/entries")
@writer
@blp.arguments(EntryIn)
@blp.response(201, EntryOut)
def add_entry(body, list_id: int):
    """Put a household or person on the list: a census person by id, or a name as written."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        row = scoped_row(session, ScreeningList, list_id, principal, "screening list")
        subject = (body.get("subject") or "").strip()
        if body["person_id"] is not None:
            person = session.get(CensusPerson, body["person_id"])
            if person is None or not in_scope(person.grid_path, row.area_path):
                raise invalid("person_id", "no such census person in the list's village or grid",
                              "该村（网格）普查数据中没有此人")
            subject = subject or person.name
        if body["household_id"] is not None:
            household = session.get(CensusItem, body["household_id"])
            if household is None or household.kind != "household" or not in_scope(household.grid_path, row.area_path):
                raise invalid("household_id", "no such census household in the list's village or grid",
                              "该村（网格）普查数据中没有此户")
        entry = ScreeningEntry(list_id=row.id, area_path=row.area_path, person_id=body["person_id"],
                               household_id=body["household_id"], subject=subject, personal=_sealed_personal(body),
                               indicators=body["indicators"], risk_level=body["risk_level"],
                               screeners=body["screeners"] if body["screeners"] is not None else list(row.screeners),
                               status=body["status"], case_id=None, note=body["note"], created_at=now,
                               updated_at=now)
        add_recorded(session, entry, "entry", entry_snapshot, principal.username, now)
        return entry_view(session, entry)


@blp.patch("/screening-entries/<int:entry_id>")
@writer
@blp.arguments(EntryPatch)
@blp.response(200, EntryOut)
def update_entry(body, entry_id: int):
    """Change indicators, risk level, screeners, status (open / watch / resolved) or note; kept as history."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        entry = scoped_row(session, ScreeningEntry, entry_id, principal, "screening entry")
        if entry.status == "escalated":
            raise ApiProblem(409, "an escalated entry is followed in its case", "该条目已转为案件，请在案件中办理")
        before = entry_snapshot(entry)
        for name in ("indicators", "risk_level", "screeners", "status", "note"):
            if name in body:
                setattr(entry, name, body[name])
        if "phone" in body:
            personal = {k: v for k, v in entry.personal.items() if k != "phone"}
            entry.personal = {**personal, **_sealed_personal({"phone": body["phone"]})}
        after = entry_snapshot(entry)
        if after != before:
            entry.updated_at = now
            record_change(session, now, principal.username, "entry", entry.id, entry.area_path, "update", before,
                          after)
        return entry_view(session, entry)


@blp.post("/screening-entries/<int:entry_id>/escalate")
@writer
@blp.arguments(EscalateIn)
@blp.response(200, EntryOut)
def escalate_entry(body, entry_id: int):
    """Escalate an entry to a case: link an existing case of your area, or start a dispute_intake case
    in the entry's village or grid with the registration prefilled."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        entry = scoped_row(session, ScreeningEntry, entry_id, principal, "screening entry")
        if entry.status == "escalated":
            raise ApiProblem(409, f"the entry is already escalated to case {entry.case_id}", "该条目已转为案件")
        if body["case_id"] is not None:
            case_id = _scoped_case_id(session, principal, body["case_id"], "case_id").id
            action = "link_case"
        else:
            data = _intake_data(session, entry, body["summary"], svc.clock.now())
            case_id, action = None, "start_case"
    started = None
    if case_id is None:
        # The case is started first (its own transaction); the entry then points at it.
        started = case_id = svc.cases.start("dispute_intake", data, principal.username, entry.area_path,
                                            data["title"]).case.id
    now = svc.clock.now()
    with undo_case_on_failure(svc, started, principal.username), svc.db.write() as session, session.begin():
        entry = session.get(ScreeningEntry, entry_id)
        if entry.status == "escalated":  # someone escalated it while this case was being started
            raise ApiProblem(409, f"the entry is already escalated to case {entry.case_id}", "该条目已转为案件")
        before = entry_snapshot(entry)
        entry.status, entry.case_id, entry.updated_at = "escalated", case_id, now
        record_change(session, now, principal.username, "entry", entry.id, entry.area_path, action, before,
                      entry_snapshot(entry))
        return entry_view(session, entry)


@contextmanager
def undo_case_on_failure(svc, case_id: int | None, actor: str):
    """A case started for a prevention row that could not then be written is cancelled, with the
    reason on its record: no case is left without the row that asked for it."""
    try:
        yield
    except Exception:
        if case_id is not None:
            svc.cases.cancel(case_id, actor, "防范工作记录未能保存，自动撤销 (the prevention record was not saved)")
        raise


def _intake_data(session, entry: ScreeningEntry, summary: str, now) -> dict:
    """The registration fields of dispute_intake (workflows/forms/intake_register), prefilled."""
    party, address = {"role": "主要当事人", "name": entry.subject}, ""
    if entry.person_id:
        person = session.get(CensusPerson, entry.person_id)
        party["id_no"] = services().vault.unseal(person.id_no)  # sealed again by the case service
        address = person.address
    elif entry.personal.get("id_no"):
        party["id_no"] = services().vault.unseal(entry.personal["id_no"])
    screening = session.get(ScreeningList, entry.list_id)
    text = summary or f"婚姻家庭风险联合排查发现：{'、'.join(entry.indicators)}"
    return {"title": f"风险家庭：{entry.subject}"[:200], "summary": text, "category": "婚姻家庭",
            "occurred_at": local_day(now).isoformat(), "address": address, "channel": "grid_patrol",
            "intake_mode": "主动排查", "source_ref": f"screening-{screening.id}-{entry.id}", "parties": [party],
            "risk_level": entry.risk_level}


@blp.get("/changes")
@blp.arguments(PreventionChangesQuery, location="query")
@blp.response(200, PreventionChangeOut(many=True))
def list_changes(query):
    """The history of prevention rows in your area, newest first (values masked)."""
    statement = changes_in_area(PreventionChange, PreventionChange.area_path, auth.current(), query)
    with services().db.read() as session:
        return list(session.scalars(statement))


# --- key-person follow-up plans --------------------------------------------------------------

@blp.post("/followup-plans")
@writer
@blp.arguments(PlanIn)
@blp.response(201, PlanOut)
def create_plan(body):
    """A follow-up plan for a census person: starts the key_person_followup case in the person's grid,
    which offers a contact task to the grid's workers every ``interval_days`` days."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        person = scoped_person(session, principal, body["person_id"], "person_id")
        if session.scalars(select(FollowupPlan.id).where(FollowupPlan.person_id == person.id,
                                                         FollowupPlan.status == "active")).first():
            raise ApiProblem(409, "this person already has an active follow-up plan", "此人已有在办的跟进计划",
                             field="person_id")
        grid_path, name = person.grid_path, person.name
    data = {"person_id": body["person_id"], "person_name": name, "interval_days": body["interval_days"],
            "responsible_unit": body["responsible_unit"], "responsible_user": body["responsible_user"] or "",
            "followup_reason": body["reason"]}
    now = svc.clock.now()
    plan_id: list[int] = []

    def write_plan(conn, case) -> None:
        """The plan, in its case's transaction: of two requests at once, the one that finds the
        person's active plan taken (the partial unique index) starts no case at all."""
        values = {"person_id": body["person_id"], "area_path": grid_path, "interval_days": body["interval_days"],
                  "responsible_user": body["responsible_user"], "responsible_unit": body["responsible_unit"],
                  "reason": body["reason"], "status": "active", "case_id": case.id, "case_no": case.case_no,
                  "created_by": principal.username, "created_at": now}
        new_id = insert_once(conn, FollowupPlan.__table__, values, ["person_id"], where=text("status = 'active'"))
        if new_id is None:
            raise AlreadyDone("this person already has an active follow-up plan")
        plan_id.append(new_id)
        with Session(bind=conn) as session:
            record_change(session, now, principal.username, "plan", new_id, grid_path, "create", None,
                          plan_snapshot(session.get(FollowupPlan, new_id)))
            session.flush()
    try:
        svc.cases.start(FOLLOWUP_PROCESS, data, principal.username, grid_path, f"重点人员跟进：{name}", also=write_plan)
    except NotFound:
        raise ApiProblem(409, f"the process {FOLLOWUP_PROCESS} is not deployed", "重点人员跟进流程尚未部署") from None
    except AlreadyDone:
        raise ApiProblem(409, "this person already has an active follow-up plan", "此人已有在办的跟进计划",
                         field="person_id") from None
    with svc.db.read() as session:
        return plan_view(session, session.get(FollowupPlan, plan_id[0]))


@blp.get("/followup-plans")
@blp.arguments(PlansQuery, location="query")
@blp.response(200, PlanOut(many=True))
def list_plans(query):
    principal = auth.current()
    with services().db.read() as session:
        area = _optional_area(session, principal, query)
        statement = select(FollowupPlan).where(in_area(FollowupPlan.area_path, principal, area))
        if query.get("status"):
            statement = statement.where(FollowupPlan.status == query["status"])
        if query.get("person_id") is not None:
            statement = statement.where(FollowupPlan.person_id == query["person_id"])
        return [plan_view(session, p) for p in session.scalars(statement.order_by(FollowupPlan.id.desc()).limit(500))]


@blp.get("/followup-plans/<int:plan_id>")
@blp.response(200, PlanDetail)
def get_plan(plan_id: int):
    """A plan with its history: its changes and every contact recorded in its contact tasks."""
    principal = auth.current()
    with services().db.read() as session:
        plan = scoped_row(session, FollowupPlan, plan_id, principal, "follow-up plan")
        return {**plan_view(session, plan), "history": plan_history(session, plan)}


@blp.post("/followup-plans/<int:plan_id>/close")
@writer
@blp.arguments(PlanClose)
@blp.response(200, PlanOut)
def close_plan(body, plan_id: int):
    """Close a plan: its case receives the keyperson_plan_closed message and ends, open contact task included."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        plan = scoped_row(session, FollowupPlan, plan_id, principal, "follow-up plan")
        if plan.status != "active":
            raise ApiProblem(409, "the plan is already closed", "该跟进计划已结束")
        case = session.get(Case, plan.case_id)
        case_open = case is not None and case.status in ("active", "waiting")
    if case_open:
        try:
            svc.cases.deliver_message(PLAN_CLOSED_MESSAGE, {"case_no": plan.case_no}, {"close_reason": body["reason"]},
                                      f"followup-plan-{plan.id}-closed", principal.username, within=plan.area_path)
        except NotFound:
            raise ApiProblem(409, "the plan's case does not wait for the closing message (suspended or in incident)",
                             "跟进案件当前无法结束（已挂起或出现事故），请先处理案件") from None
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        plan = session.get(FollowupPlan, plan_id)
        if plan.status != "active":
            raise Conflict("the plan was closed at the same time")
        plan.status, plan.closed_at, plan.closed_by, plan.close_reason = "closed", now, principal.username, \
            body["reason"]
        record_change(session, now, principal.username, "plan", plan.id, plan.area_path, "close", None,
                      plan_snapshot(plan))
        return plan_view(session, plan)


# --- patrol teams and logs -------------------------------------------------------------------

@blp.post("/patrol-teams")
@writer
@blp.arguments(TeamIn)
@blp.response(201, TeamOut)
def create_team(body):
    """A patrol team (巡逻队) of a village or grid; members are names, with a username when they have one."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        area = scoped_area(session, principal, body["area"])
        members = [{"name": m["name"].strip(), **({"username": m["username"]} if m.get("username") else {})}
                   for m in body["members"]]
        team = PatrolTeam(area_path=area.path, name=body["name"].strip(), members=members, active=True,
                          created_by=principal.username, created_at=now)
        add_recorded(session, team, "team", team_view, principal.username, now)
        return team_view(team)


@blp.get("/patrol-teams")
@blp.arguments(TeamsQuery, location="query")
@blp.response(200, TeamOut(many=True))
def list_teams(query):
    principal = auth.current()
    with services().db.read() as session:
        area = _optional_area(session, principal, query)
        statement = select(PatrolTeam).where(in_area(PatrolTeam.area_path, principal, area)).order_by(PatrolTeam.id)
        return [team_view(t) for t in session.scalars(statement.limit(1000))]


@blp.post("/patrol-logs")
@writer
@blp.arguments(LogIn)
@blp.response(201, LogOut)
def record_log(body):
    """A patrol: team, start and end, route, findings, issues found (each may name a case of your area)."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    started, ended = body["started_at"].astimezone(timezone.utc), body["ended_at"].astimezone(timezone.utc)
    if ended > now + timedelta(minutes=5):
        raise invalid("ended_at", "a patrol cannot end in the future", "巡逻结束时间不能晚于当前时间")
    if ended - started > MAX_PATROL:
        raise invalid("ended_at", "a patrol lasts at most 24 hours", "单次巡逻不超过 24 小时")
    with svc.db.write() as session, session.begin():
        team = session.get(PatrolTeam, body["team_id"])
        # A member logs their own team's patrol even when the team belongs to a wider area than theirs
        # (a grid worker in a village team).
        member = team is not None and principal.username in {m.get("username") for m in team.members}
        if team is None or not (member or in_scope(team.area_path, principal.unit_path)):
            raise invalid("team_id", f"patrol team {body['team_id']} does not exist in your area",
                          "巡逻队不存在或不在您的管辖范围内")
        issues = []
        for index, issue in enumerate(body["issues"]):
            if issue.get("case_id") is not None:
                _scoped_case_id(session, principal, issue["case_id"], f"issues.{index}.case_id")
            issues.append({"description": issue["description"].strip(), "case_id": issue.get("case_id")})
        log = PatrolLog(team_id=team.id, area_path=team.area_path, patrol_date=local_day(started),
                        started_at=started, ended_at=ended, route=body["route"].strip(), findings=body["findings"],
                        issues=issues, created_by=principal.username, created_at=now)
        add_recorded(session, log, "log", log_view, principal.username, now)
        return log_view(log)


@blp.get("/patrol-logs")
@blp.arguments(LogsQuery, location="query")
@blp.response(200, LogOut(many=True))
def list_logs(query):
    """Patrol logs of your area, newest first; filter by village or grid, team and dates (local days)."""
    principal = auth.current()
    with services().db.read() as session:
        area = _optional_area(session, principal, query)
        statement = select(PatrolLog).where(in_area(PatrolLog.area_path, principal, area))
        if query.get("team_id") is not None:
            statement = statement.where(PatrolLog.team_id == query["team_id"])
        if query.get("date_from"):
            statement = statement.where(PatrolLog.patrol_date >= query["date_from"])
        if query.get("date_to"):
            statement = statement.where(PatrolLog.patrol_date <= query["date_to"])
        statement = statement.order_by(PatrolLog.started_at.desc(), PatrolLog.id.desc())
        return [log_view(r) for r in session.scalars(statement.limit(query["limit"]).offset(query["offset"]))]


@blp.get("/patrol-hours")
@blp.arguments(HoursQuery, location="query")
@blp.response(200, HoursOut(many=True))
def get_patrol_hours(query):
    """Total patrol hours per team in a month (patrols count in the month of their start day)."""
    principal = auth.current()
    first, after = month_bounds(query["month"])
    with services().db.read() as session:
        area = _optional_area(session, principal, query)
        team_filter = in_area(PatrolTeam.area_path, principal, area)
        teams_statement = select(PatrolTeam).where(team_filter)
        if query.get("team_id") is not None:
            teams_statement = teams_statement.where(PatrolTeam.id == query["team_id"])
        teams = {t.id: t for t in session.scalars(teams_statement)}
        logs = list(session.scalars(select(PatrolLog).where(PatrolLog.team_id.in_(list(teams) or [-1]),
                                                            PatrolLog.patrol_date >= first,
                                                            PatrolLog.patrol_date < after)))
    return patrol_hours(teams, logs, query["month"])

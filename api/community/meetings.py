"""警民恳谈会 and service posts (矛盾调解、法律咨询、平安创建) as events of a village or town, the issues
raised there, and counts by month.

An issue becomes a lead or a case in one step, through the same processes intake uses: ``lead``
starts ``lead_clue`` (source ``community_event``, the village as first handler), ``case`` starts
``dispute_intake`` with the registration prefilled (channel 来访, 当事人申请), both in the event's
unit with ``source_ref`` ``event-<event>-<issue>``. The case is started first, in its own
transaction; the issue row then points at it, and a row that cannot be written cancels the case.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import auth
from api.core.models import OrgUnit
from api.core.org import in_scope
from api.core.problems import ApiProblem
from api.core.scope import in_area
from api.core.services import services
from api.prevention.routes import undo_case_on_failure
from api.prevention.service import invalid, month_bounds
from engine.errors import NotFound

from .campaigns import tag_rows
from .common import add_recorded, blp, known, optional_area, scoped_row, scoped_unit, sealed_phone, vocabulary, writer
from .models import CampaignTag, CommunityEvent, CommunityIssue
from .schemas import EventCountOut, EventCountsQuery, EventIn, EventOut, EventsQuery, RaisedIssueIn, RaisedIssueOut

EVENT_UNITS = ("town", "village")
OUTCOME_PROCESS = {"lead": "lead_clue", "case": "dispute_intake"}


def issue_view(issue: CommunityIssue) -> dict:
    return {c: getattr(issue, c) for c in ("id", "event_id", "area_path", "description", "raised_by", "outcome",
                                           "case_id", "case_no", "created_by", "created_at")}


def event_view(session: Session, event: CommunityEvent) -> dict:
    out = {c: getattr(event, c) for c in ("id", "area_path", "kind", "held_on", "place", "attendees",
                                          "police_present", "topics", "note", "created_by", "created_at")}
    out["kind_name"] = vocabulary("event_kinds").get(event.kind, event.kind)
    out["campaigns"] = list(session.scalars(select(CampaignTag.campaign).where(
        CampaignTag.target_type == "event", CampaignTag.target_id == event.id).order_by(CampaignTag.id)))
    out["issues"] = [issue_view(i) for i in session.scalars(select(CommunityIssue).where(
        CommunityIssue.event_id == event.id).order_by(CommunityIssue.id))]
    return out


def _snapshot(event: CommunityEvent) -> dict:
    return {c: getattr(event, c) for c in ("kind", "held_on", "place", "attendees", "police_present", "topics")}


@blp.post("/events")
@writer
@blp.arguments(EventIn)
@blp.response(201, EventOut)
def create_event(body):
    """Record a 警民恳谈会 or a service-post session held in a village or town of your area."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    kind = known("event_kinds", body["kind"], "kind", "活动类型不在 workflows/community.json 中")
    campaigns = [known("campaigns", c, "campaigns", "行动不在六大行动之列") for c in dict.fromkeys(body["campaigns"])]
    with svc.db.write() as session, session.begin():
        unit = scoped_unit(session, principal, body["area"], EVENT_UNITS, "village or town")
        event = CommunityEvent(area_path=unit.path, kind=kind, held_on=body["held_on"], place=body["place"].strip(),
                               attendees=body["attendees"], police_present=body["police_present"],
                               topics=body["topics"], note=body["note"], created_by=principal.username,
                               created_at=now)
        add_recorded(session, event, "event", _snapshot, principal.username, now)
        for tag in tag_rows("event", event.id, event.area_path, campaigns, event.held_on, principal.username, now):
            session.add(tag)
        session.flush()
        return event_view(session, event)


@blp.get("/events")
@blp.arguments(EventsQuery, location="query")
@blp.response(200, EventOut(many=True))
def list_events(query):
    """Events of your area (or under one unit), newest first; a month by the day they were held."""
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        statement = select(CommunityEvent).where(in_area(CommunityEvent.area_path, principal, area))
        if query.get("kind"):
            statement = statement.where(CommunityEvent.kind == query["kind"])
        if query.get("month"):
            first, after = month_bounds(query["month"])
            statement = statement.where(CommunityEvent.held_on >= first, CommunityEvent.held_on < after)
        rows = session.scalars(statement.order_by(CommunityEvent.held_on.desc(), CommunityEvent.id.desc()).limit(500))
        return [event_view(session, e) for e in rows]


@blp.get("/events/<int:event_id>")
@blp.response(200, EventOut)
def get_event(event_id: int):
    principal = auth.current()
    with services().db.read() as session:
        return event_view(session, scoped_row(session, CommunityEvent, event_id, principal, "event"))


@blp.post("/events/<int:event_id>/issues")
@writer
@blp.arguments(RaisedIssueIn)
@blp.response(201, RaisedIssueOut)
def raise_issue(body, event_id: int):
    """An issue raised at the event; ``outcome`` lead or case starts it in one step."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        event = scoped_row(session, CommunityEvent, event_id, principal, "event")
        area_path, kind_name = event.area_path, vocabulary("event_kinds").get(event.kind, event.kind)
        held_on = event.held_on
        in_village = session.scalar(select(OrgUnit.kind).where(OrgUnit.path == area_path)) == "village"
        start_in = area_path
        if body.get("grid"):
            grid = scoped_unit(session, principal, body["grid"], ("grid",), "grid")
            if not in_scope(grid.path, area_path):
                raise invalid("grid", "the grid is not in the event's village or town", "网格不在活动所在村（镇）内")
            start_in = grid.path
    outcome = body["outcome"]
    started = None
    if outcome in OUTCOME_PROCESS:
        number = _next_ref(svc, event_id)
        data = _start_data(outcome, body, kind_name, held_on, _village(area_path, start_in, in_village),
                           f"event-{event_id}-{number}")
        title = f"{kind_name}反映：{body['description'].strip()[:40]}"
        try:
            started = svc.cases.start(OUTCOME_PROCESS[outcome], data, principal.username, start_in, title).case
        except NotFound:
            raise ApiProblem(409, f"the process {OUTCOME_PROCESS[outcome]} is not deployed",
                             "线索或案件流程尚未部署") from None
    now = svc.clock.now()
    with undo_case_on_failure(svc, started.id if started else None, principal.username), \
            svc.db.write() as session, session.begin():
        issue = CommunityIssue(event_id=event_id, area_path=area_path, description=body["description"].strip(),
                               raised_by=body["raised_by"].strip(), outcome=outcome,
                               case_id=started.id if started else None, case_no=started.case_no if started else None,
                               created_by=principal.username, created_at=now)
        add_recorded(session, issue, "issue", issue_view, principal.username, now)
        return issue_view(issue)


def _village(event_path: str, start_in: str, in_village: bool) -> str | None:
    """A lead's first handler: the event's village, or the village of the grid it starts in."""
    if in_village:
        return event_path
    return start_in[:start_in.rstrip("/").rfind("/") + 1] if start_in != event_path else None


def _next_ref(svc, event_id: int) -> int:
    """The issue's number within its event, for a readable source reference."""
    with svc.db.read() as session:
        return 1 + len(session.scalars(select(CommunityIssue.id).where(CommunityIssue.event_id == event_id)).all())


def _start_data(outcome: str, body: dict, kind_name: str, held_on: date, village: str | None,
                source_ref: str) -> dict:
    """lead_clue's start data (as intake writes it) or dispute_intake's registration fields."""
    party = {"role": "主要当事人", "name": body["raised_by"].strip() or "反映群众",
             **({"phone": body["phone"].replace(" ", "")} if body.get("phone") else {})}
    sealed_phone(body.get("phone"))  # checks the number; the case service seals case data itself
    summary = f"{kind_name}（{held_on.isoformat()}）群众反映：{body['description'].strip()}"[:4000]
    common = {"source_ref": source_ref, "parties": [party], "address": body["address"].strip()}
    if body["category"]:
        common["category"] = body["category"].strip()
    if outcome == "lead":
        return {"source": "community_event", "lead_summary": summary, **common,
                **({"handler_unit": village} if village else {})}
    return {"title": f"{kind_name}反映：{body['description'].strip()[:40]}", "summary": summary,
            "occurred_at": held_on.isoformat(), "channel": "walk_in", "intake_mode": "当事人申请",
            **common, "address": common["address"] or kind_name}


@blp.get("/event-counts")
@blp.arguments(EventCountsQuery, location="query")
@blp.response(200, EventCountOut(many=True))
def event_counts(query):
    """Per month of a year and kind: events held, attendees, issues raised, leads and cases started."""
    principal = auth.current()
    year = query["year"]
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        events = list(session.scalars(select(CommunityEvent).where(
            in_area(CommunityEvent.area_path, principal, area), CommunityEvent.held_on >= date(year, 1, 1),
            CommunityEvent.held_on < date(year + 1, 1, 1))))
        issues = list(session.scalars(select(CommunityIssue).where(
            CommunityIssue.event_id.in_([e.id for e in events] or [-1]))))
    names = vocabulary("event_kinds")
    counts: dict[tuple[str, str], dict] = {}
    by_event = {}
    for event in events:
        key = (event.held_on.strftime("%Y-%m"), event.kind)
        row = counts.setdefault(key, {"month": key[0], "kind": key[1], "kind_name": names.get(key[1], key[1]),
                                      "events": 0, "attendees": 0, "issues": 0, "leads": 0, "cases": 0})
        row["events"] += 1
        row["attendees"] += event.attendees
        by_event[event.id] = row
    for issue in issues:
        row = by_event[issue.event_id]
        row["issues"] += 1
        if issue.outcome == "lead":
            row["leads"] += 1
        elif issue.outcome == "case":
            row["cases"] += 1
    return [counts[k] for k in sorted(counts)]

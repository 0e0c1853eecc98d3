"""平安建设 六大行动: campaign tags on cases, patrols and events, and their counts; and the daily
hours each person spent visiting (census visits) and patrolling (patrol logs), against the
practice's four hours a day."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.census.service import DAILY_TARGET_HOURS, CensusVisit
from api.core import auth
from api.core.auth import Principal
from api.core.org import display_names
from api.core.problems import ApiProblem
from api.core.scope import case_in_scope, in_area
from api.core.services import services
from api.prevention.service import PatrolLog, local_day, month_bounds, not_found
from engine.models import Case
from engine.store import insert_once

from .common import blp, day_start, known, optional_area, scoped_row, vocabulary, writer
from .models import CampaignTag, CommunityEvent
from .schemas import CampaignCountOut, HoursQuery, MonthQuery, PersonHoursOut, TagIn, TagOut, TagsQuery

COUNTED = {"case": "cases", "patrol": "patrols", "event": "events"}


def tag_rows(target_type: str, target_id: int, area_path: str, campaigns: list[str], day: date, actor: str,
             now: datetime) -> list[CampaignTag]:
    return [CampaignTag(target_type=target_type, target_id=target_id, area_path=area_path, campaign=c, day=day,
                        tagged_by=actor, tagged_at=now) for c in campaigns]


def tag_view(tag: CampaignTag) -> dict:
    out = {c: getattr(tag, c) for c in ("id", "target_type", "target_id", "area_path", "campaign", "day", "tagged_by",
                                        "tagged_at")}
    out["campaign_name"] = vocabulary("campaigns").get(tag.campaign, tag.campaign)
    return out


def _target(session: Session, principal: Principal, target_type: str, target_id: int) -> tuple[str, date]:
    """The area and the local day of a case, patrol or event of the caller's area (404 otherwise)."""
    if target_type == "case":
        case = session.scalars(select(Case).where(Case.id == target_id, case_in_scope(principal))).first()
        if case is None:
            raise not_found("case", target_id)
        return case.jurisdiction, local_day(case.created_at)
    if target_type == "patrol":
        log = scoped_row(session, PatrolLog, target_id, principal, "patrol log")
        return log.area_path, log.patrol_date
    event = scoped_row(session, CommunityEvent, target_id, principal, "event")
    return event.area_path, event.held_on


@blp.post("/campaign-tags")
@writer
@blp.arguments(TagIn)
@blp.response(201, TagOut)
def add_tag(body):
    """Count a case, patrol or event of your area under one of the 六大行动 (once per campaign)."""
    principal = auth.current()
    svc = services()
    campaign = known("campaigns", body["campaign"], "campaign", "行动不在六大行动之列")
    with svc.db.write() as session, session.begin():
        area_path, day = _target(session, principal, body["target_type"], body["target_id"])
        [row] = tag_rows(body["target_type"], body["target_id"], area_path, [campaign], day, principal.username,
                         svc.clock.now())
        values = {c: getattr(row, c) for c in ("target_type", "target_id", "area_path", "campaign", "day",
                                               "tagged_by", "tagged_at")}
        new_id = insert_once(session.connection(), CampaignTag.__table__, values,
                             ["target_type", "target_id", "campaign"])
        if new_id is None:
            raise ApiProblem(409, "already tagged with this campaign", "已计入该行动")
        return tag_view(session.get(CampaignTag, new_id))


@blp.get("/campaign-tags")
@blp.arguments(TagsQuery, location="query")
@blp.response(200, TagOut(many=True))
def list_tags(query):
    principal = auth.current()
    with services().db.read() as session:
        _target(session, principal, query["target_type"], query["target_id"])
        rows = session.scalars(select(CampaignTag).where(CampaignTag.target_type == query["target_type"],
                                                         CampaignTag.target_id == query["target_id"])
                               .order_by(CampaignTag.id))
        return [tag_view(t) for t in rows]


@blp.get("/campaign-counts")
@blp.arguments(MonthQuery, location="query")
@blp.response(200, CampaignCountOut(many=True))
def campaign_counts(query):
    """Per campaign: tagged cases, patrols and events of your area (in one month by their day, or all);
    every campaign of workflows/community.json is listed, with zeros."""
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        statement = select(CampaignTag).where(in_area(CampaignTag.area_path, principal, area))
        if query.get("month"):
            first, after = month_bounds(query["month"])
            statement = statement.where(CampaignTag.day >= first, CampaignTag.day < after)
        tags = list(session.scalars(statement))
    counts = {code: {"campaign": code, "campaign_name": name, "cases": 0, "patrols": 0, "events": 0, "total": 0}
              for code, name in vocabulary("campaigns").items()}
    for tag in tags:
        if tag.campaign in counts:
            counts[tag.campaign][COUNTED[tag.target_type]] += 1
            counts[tag.campaign]["total"] += 1
    return list(counts.values())


@blp.get("/activity-hours")
@blp.arguments(HoursQuery, location="query")
@blp.response(200, PersonHoursOut(many=True))
def activity_hours(query):
    """Per person on a local day: hours of door-to-door visits (census visits, by whoever logged them:
    grid workers, 镇村干部, 驻村警(辅)) and of patrols (by the member who logged the patrol), and whether
    they reach the four hours a day."""
    principal = auth.current()
    start = day_start(query["date"])
    end = start + timedelta(days=1)
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        visits = list(session.scalars(select(CensusVisit).where(
            in_area(CensusVisit.grid_path, principal, area), CensusVisit.started_at < end,
            CensusVisit.ended_at > start)))
        patrols = list(session.scalars(select(PatrolLog).where(
            in_area(PatrolLog.area_path, principal, area), PatrolLog.started_at < end, PatrolLog.ended_at > start)))
        names = display_names(session, {v.worker for v in visits} | {p.created_by for p in patrols})
    people: dict[str, dict] = {}
    for kind, person, began, ended in ([("visit", v.worker, v.started_at, v.ended_at) for v in visits]
                                      + [("patrol", p.created_by, p.started_at, p.ended_at) for p in patrols]):
        row = people.setdefault(person, {"person": person, "person_name": names.get(person), "date": query["date"],
                                         "visit_hours": 0.0,
                                         "patrol_hours": 0.0, "visits": 0, "patrols": 0})
        row[f"{kind}_hours"] += (min(ended, end) - max(began, start)).total_seconds() / 3600
        row[f"{kind}s"] += 1
    for row in people.values():
        row["visit_hours"], row["patrol_hours"] = round(row["visit_hours"], 2), round(row["patrol_hours"], 2)
        row["hours"] = round(row["visit_hours"] + row["patrol_hours"], 2)
        row["target_hours"], row["met"] = DAILY_TARGET_HOURS, row["hours"] >= DAILY_TARGET_HOURS
    return sorted(people.values(), key=lambda r: (-r["hours"], r["person"]))

"""五会一队 rosters per village, members (phones sealed), appointments of members to a case's
mediation and the count of their participations.

An appointment is recorded twice in one transaction: as the ``mediator_appointed`` event in the
case's own log (so the case file and its audit chain show who was brought in, by whom) and as a
row of ``community_appointments`` that the counts read.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core import auth
from api.core.org import in_scope
from api.core.pii import masked
from api.core.problems import ApiProblem
from api.core.scope import case_in_scope, in_area
from api.core.services import services
from api.prevention.service import invalid, month_bounds, not_found
from engine.errors import AlreadyDone
from engine.models import Case
from engine.store import insert_once

from .common import (add_recorded, blp, day_start, known, optional_area, record_change, scoped_row, scoped_unit,
                     sealed_phone, vocabulary, writer)
from .models import CommunityAppointment, CommunityMember, CommunityOrg
from .schemas import (AppointmentIn, AppointmentOut, MonthQuery, OrgDetail, OrgIn, OrgOut, OrgsQuery,
                      ParticipationOut, RosterMemberIn, RosterMemberOut, RosterMemberPatch)

OPEN_CASE = ("active", "waiting")


def org_view(session: Session, org: CommunityOrg) -> dict:
    count = session.scalar(select(func.count()).select_from(CommunityMember).where(CommunityMember.org_id == org.id,
                                                                                   CommunityMember.active))
    return {"id": org.id, "area_path": org.area_path, "kind": org.kind, "kind_name": vocabulary(
        "organisation_kinds").get(org.kind, org.kind), "name": org.name, "created_by": org.created_by,
        "created_at": org.created_at, "member_count": count}


def member_view(member: CommunityMember, participations: int = 0) -> dict:
    return {"id": member.id, "org_id": member.org_id, "area_path": member.area_path, "name": member.name,
            "title": member.title, "phone": masked(member.personal.get("phone")), "username": member.username,
            "active": member.active, "participations": participations}


def ancestors(path: str) -> list[str]:
    """'/a/b/c/' → ['/a/', '/a/b/', '/a/b/c/']."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def readable_org(session: Session, org_id: int, principal) -> CommunityOrg:
    """An organisation of the caller's area, or of the village the caller works in (a grid worker calls
    on the village's 五老), else 404."""
    org = session.get(CommunityOrg, org_id)
    if org is None or not (in_scope(org.area_path, principal.unit_path)
                           or in_scope(principal.unit_path, org.area_path)):
        raise not_found("organisation", org_id)
    return org


def _participations(session: Session, member_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(CommunityAppointment.member_id, func.count()).where(
        CommunityAppointment.member_id.in_(member_ids or [-1])).group_by(CommunityAppointment.member_id))
    return dict(rows.all())


@blp.post("/orgs")
@writer
@blp.arguments(OrgIn)
@blp.response(201, OrgOut)
def create_org(body):
    """A 五会一队 organisation of a village of your area (one per kind and village)."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    kind = known("organisation_kinds", body["kind"], "kind", "组织类型不在 workflows/community.json 中")
    with svc.db.write() as session, session.begin():
        village = scoped_unit(session, principal, body["village"], ("village",), "village")
        if session.scalars(select(CommunityOrg.id).where(CommunityOrg.area_path == village.path,
                                                         CommunityOrg.kind == kind)).first():
            raise ApiProblem(409, "this village already has an organisation of that kind", "该村已有此类组织",
                             field="kind")
        name = (body.get("name") or f"{village.name}{vocabulary('organisation_kinds')[kind]}").strip()
        org = CommunityOrg(area_path=village.path, kind=kind, name=name, created_by=principal.username,
                           created_at=now)
        add_recorded(session, org, "org", lambda o: {"kind": o.kind, "name": o.name}, principal.username, now)
        return org_view(session, org)


@blp.get("/orgs")
@blp.arguments(OrgsQuery, location="query")
@blp.response(200, OrgOut(many=True))
def list_orgs(query):
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        visible = in_area(CommunityOrg.area_path, principal, area)
        if area is None:  # and the organisations of the village the caller works in
            visible = visible | CommunityOrg.area_path.in_(ancestors(principal.unit_path))
        statement = select(CommunityOrg).where(visible)
        if query.get("kind"):
            statement = statement.where(CommunityOrg.kind == query["kind"])
        return [org_view(session, o) for o in session.scalars(statement.order_by(CommunityOrg.id).limit(1000))]


@blp.get("/orgs/<int:org_id>")
@blp.response(200, OrgDetail)
def get_org(org_id: int):
    """An organisation with its roster (phones masked) and each member's participations."""
    principal = auth.current()
    with services().db.read() as session:
        org = readable_org(session, org_id, principal)
        members = list(session.scalars(select(CommunityMember).where(CommunityMember.org_id == org.id)
                                       .order_by(CommunityMember.id)))
        counts = _participations(session, [m.id for m in members])
        return {**org_view(session, org), "members": [member_view(m, counts.get(m.id, 0)) for m in members]}


@blp.post("/orgs/<int:org_id>/members")
@writer
@blp.arguments(RosterMemberIn)
@blp.response(201, RosterMemberOut)
def add_member(body, org_id: int):
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        org = scoped_row(session, CommunityOrg, org_id, principal, "organisation")
        member = CommunityMember(org_id=org.id, area_path=org.area_path, name=body["name"].strip(),
                                 title=body["title"].strip(), personal=sealed_phone(body["phone"]),
                                 username=body["username"] or None, active=True, created_at=now)
        add_recorded(session, member, "member", member_view, principal.username, now)
        return member_view(member)


@blp.patch("/members/<int:member_id>")
@writer
@blp.arguments(RosterMemberPatch)
@blp.response(200, RosterMemberOut)
def update_member(body, member_id: int):
    """Change a member's title or phone, or take them off the roster (``active: false``)."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        member = scoped_row(session, CommunityMember, member_id, principal, "member")
        before = member_view(member)
        if "title" in body:
            member.title = body["title"].strip()
        if "active" in body:
            member.active = body["active"]
        if "phone" in body:
            member.personal = sealed_phone(body["phone"])
        after = member_view(member)
        if after != before:
            record_change(session, now, principal.username, "member", member.id, member.area_path, "update", before,
                          after)
        return member_view(member, _participations(session, [member.id]).get(member.id, 0))


@blp.post("/cases/<int:case_id>/appointments")
@writer
@blp.arguments(AppointmentIn)
@blp.response(201, AppointmentOut)
def appoint(body, case_id: int):
    """Appoint a roster member to an open case's mediation: the member's village and the case's area
    must overlap (a village case takes its own village's members; a town case any of the town's)."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = session.scalars(select(Case).where(Case.id == case_id, case_in_scope(principal))).first()
        if case is None:
            raise not_found("case", case_id)
        if case.status not in OPEN_CASE:
            raise ApiProblem(409, f"the case is {case.status}: members are appointed to open cases",
                             "案件已结束或暂停，不能再选派调解人员")
        member = scoped_row(session, CommunityMember, body["member_id"], principal, "member")
        org = session.get(CommunityOrg, member.org_id)
        if not member.active:
            raise invalid("member_id", "the member is no longer on the roster", "该成员已不在名册中")
        if not (in_scope(case.jurisdiction, org.area_path) or in_scope(org.area_path, case.jurisdiction)):
            raise invalid("member_id", "the member's village is outside the case's area", "该成员所在村不在案件辖区内")
        if session.scalars(select(CommunityAppointment.id).where(CommunityAppointment.member_id == member.id,
                                                                 CommunityAppointment.case_id == case.id)).first():
            raise ApiProblem(409, "the member is already appointed to this case", "该成员已选派到本案")
        values = {"member_id": member.id, "org_id": org.id, "case_id": case.id, "case_no": case.case_no,
                  "area_path": member.area_path, "role": body["role"].strip(), "appointed_by": principal.username,
                  "appointed_at": svc.clock.now()}
        payload = {"member_id": member.id, "member": member.name, "organisation": org.name, "kind": org.kind,
                   "role": values["role"]}

    def claim(conn) -> None:
        """The row, in the event's transaction: of two appointments at once, the second writes nothing."""
        if insert_once(conn, CommunityAppointment.__table__, values, ["member_id", "case_id"]) is None:
            raise AlreadyDone("the member is already appointed to this case")
    try:
        svc.cases.annotate(case.id, principal.username, "mediator_appointed", payload, apply=claim)
    except AlreadyDone:
        raise ApiProblem(409, "the member is already appointed to this case", "该成员已选派到本案") from None
    with svc.db.read() as session:
        row = session.scalars(select(CommunityAppointment).where(CommunityAppointment.member_id == member.id,
                                                                 CommunityAppointment.case_id == case.id)).one()
        return appointment_view(session, row)


def appointment_view(session: Session, row: CommunityAppointment) -> dict:
    member, org = session.get(CommunityMember, row.member_id), session.get(CommunityOrg, row.org_id)
    return {"id": row.id, "member_id": row.member_id, "member_name": member.name, "org_id": row.org_id,
            "org_kind": org.kind, "case_id": row.case_id, "case_no": row.case_no, "area_path": row.area_path,
            "role": row.role, "appointed_by": row.appointed_by, "appointed_at": row.appointed_at}


@blp.get("/cases/<int:case_id>/appointments")
@blp.response(200, AppointmentOut(many=True))
def list_appointments(case_id: int):
    principal = auth.current()
    with services().db.read() as session:
        if session.scalars(select(Case.id).where(Case.id == case_id, case_in_scope(principal))).first() is None:
            raise not_found("case", case_id)
        rows = session.scalars(select(CommunityAppointment).where(CommunityAppointment.case_id == case_id)
                               .order_by(CommunityAppointment.id))
        return [appointment_view(session, r) for r in rows]


@blp.get("/participations")
@blp.arguments(MonthQuery, location="query")
@blp.response(200, ParticipationOut(many=True))
def participations(query):
    """Appointments per organisation and member of your area (in one month, by appointment day, or all)."""
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        orgs = {o.id: o for o in session.scalars(select(CommunityOrg).where(
            in_area(CommunityOrg.area_path, principal, area)).order_by(CommunityOrg.id))}
        statement = select(CommunityAppointment).where(CommunityAppointment.org_id.in_(list(orgs) or [-1]))
        if query.get("month"):
            first, after = month_bounds(query["month"])
            statement = statement.where(CommunityAppointment.appointed_at >= day_start(first),
                                        CommunityAppointment.appointed_at < day_start(after))
        per_member: dict[int, int] = {}
        for row in session.scalars(statement):
            per_member[row.member_id] = per_member.get(row.member_id, 0) + 1
        members = list(session.scalars(select(CommunityMember).where(CommunityMember.org_id.in_(list(orgs) or [-1]))
                                       .order_by(CommunityMember.id)))
    out = []
    for org in orgs.values():
        mine = [{"member_id": m.id, "name": m.name, "appointments": per_member.get(m.id, 0)}
                for m in members if m.org_id == org.id]
        out.append({"org_id": org.id, "org_name": org.name, "kind": org.kind, "area_path": org.area_path,
                    "appointments": sum(m["appointments"] for m in mine), "members": mine})
    return out


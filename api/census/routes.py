"""The grid census (人、房、地、事、物、组织): people, items, history, weekly rounds, visits, import, export.

Every read and write is limited to the caller's area: a grid, person, item or round outside it
answers 404. Auditors and designers only read. Personal data is masked in every answer; the real
numbers come from ``/people/{id}/personal-data`` for the roles in ``api.core.pii.UNMASK_ROLES``, and
each such read is recorded in ``census_changes``.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from functools import wraps

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from api.core import auth
from api.core.answers import reveal_personal_data
from api.core.org import in_scope
from api.core.pii import UNMASK_ROLES
from api.core.problems import ApiProblem
from api.core.scope import changes_in_area, in_area
from api.core.services import services
from engine.clock import CHINA

from . import importer as census_import
from .export import export_xlsx
from .ledger import PHONE, id_problem
from .schemas import (PeopleSearch, CensusImportOut, CensusImportQuery, ChangeOut, ChangesQuery, ExportQuery, ItemIn, ItemOut,
                      ItemsQuery, PeopleQuery, CensusPersonalDataOut, CensusPersonalDataQuery, PersonIn, PersonOut,
                      PersonPatch, RoundIn, RoundOut, RoundsQuery, VisitHoursOut, VisitHoursQuery, VisitIn, VisitOut)
from .service import (ROUND_ROLES, VISIT_ROLES, CensusChange, CensusItem, CensusPerson, CensusRound, CensusRoundItem,
                      CensusVisit, item_snapshot, not_found, person_snapshot, record_change, require_roles,
                      require_writer, round_view, save_person, scoped_grid, visit_hours, visiting_principal,
                      week_window)

blp = Blueprint("census", __name__, url_prefix="/api/v1/census", description="Grid census (拉网排)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Guards: placed between @blp.<method> and @blp.arguments, they run before the body is read.
def writer(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        require_writer(auth.current())
        return view(*args, **kwargs)
    return guarded


def needs(roles: frozenset[str], zh: str):
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            require_roles(auth.current(), roles, zh)
            return view(*args, **kwargs)
        return guarded
    return decorate


def _invalid(field: str, detail: str, message: str) -> ApiProblem:
    return ApiProblem(422, detail, "数据校验未通过，请按提示修改", errors={field: message})


def _scoped(session: Session, model, ident: int, principal, what: str):
    row = session.get(model, ident)
    if row is None or not in_scope(row.grid_path, principal.unit_path):
        raise not_found(what, ident)
    return row


def _registered_already() -> ApiProblem:
    """The same answer wherever the person is registered (in the caller's area or another town), so
    the census cannot be probed for where someone lives; the superior sees both and can sort it out."""
    return ApiProblem(409, "this ID number cannot be registered here; ask the level above to verify",
                      "该身份证号已有登记，请联系上级核实", field="id_no")


def _check_person_values(session: Session, body: dict, grid_path: str) -> dict:
    values = {k: v for k, v in body.items() if k != "grid"}
    if "id_no" in values:
        values["id_no"] = values["id_no"].replace(" ", "").upper()
        problem = id_problem(values["id_no"])
        if problem:
            raise _invalid("id_no", problem[0], problem[1])
    if values.get("phone"):
        values["phone"] = values["phone"].replace(" ", "")
        if not PHONE.match(values["phone"]):
            raise _invalid("phone", "a mobile or landline number is needed", "电话应为 11 位手机号或带区号的固定电话")
    if values.get("household_id") is not None:
        household = session.get(CensusItem, values["household_id"])
        if household is None or household.kind != "household" or household.grid_path != grid_path:
            raise _invalid("household_id", "no such household in this grid", "该网格中没有此户")
    return values


# --- people ----------------------------------------------------------------------------------

@blp.get("/people")
@blp.arguments(PeopleQuery, location="query")
@blp.response(200, PersonOut(many=True))
def list_people(query):
    """People of your area (personal data masked), optionally of one grid, with one flag, or whose
    name contains ``q``."""
    principal = auth.current()
    with services().db.read() as session:
        statement = select(CensusPerson).where(in_area(CensusPerson.grid_path, principal))
        if query.get("grid"):
            statement = statement.where(CensusPerson.grid_path == scoped_grid(session, principal, query["grid"]).path)
        if query.get("q"):
            statement = statement.where(CensusPerson.name.contains(query["q"], autoescape=True))
        statement = statement.order_by(CensusPerson.id)
        if not query.get("flag"):
            statement = statement.limit(query["limit"]).offset(query["offset"])
        rows = [person_snapshot(p) for p in session.scalars(statement)]
    if query.get("flag"):  # flags are a JSON list: filtered here, the same way on SQLite and PostgreSQL
        rows = [r for r in rows if query["flag"] in r["flags"]][query["offset"]:query["offset"] + query["limit"]]
    return rows


@blp.post("/people/search")
@blp.arguments(PeopleSearch)
@blp.response(200, PersonOut(many=True))
def search_people(body):
    """The person of your area with this ID number (matched by its keyed hash, one indexed lookup;
    the number travels in the body, never in a URL), for the roles that may see personal data."""
    principal = auth.current()
    if not principal.roles & UNMASK_ROLES:
        raise ApiProblem(403, "searching by ID number needs a role that may see personal data",
                         "您的角色不能按身份证号查询")
    svc = services()
    with svc.db.read() as session:
        rows = session.scalars(select(CensusPerson).where(CensusPerson.id_hash == svc.vault.identity_hash(body["id_no"]),
                                                          in_area(CensusPerson.grid_path, principal)))
        return [person_snapshot(p) for p in rows]


@blp.post("/people")
@writer
@blp.arguments(PersonIn)
@blp.response(201, PersonOut)
def create_person(body):
    """Register a person in a grid of your area; 409 when the ID number is already registered,
    anywhere, with the same answer wherever that is."""
    principal = auth.current()
    svc = services()
    with svc.db.write() as session, session.begin():
        grid = scoped_grid(session, principal, body["grid"])
        values = _check_person_values(session, body, grid.path)
        if session.scalars(select(CensusPerson.id).where(
                CensusPerson.id_hash == svc.vault.identity_hash(values["id_no"]))).first() is not None:
            raise _registered_already()
        person, _ = save_person(session, svc.vault, svc.clock.now(), principal.username, None,
                                {**values, "grid_path": grid.path})
        return person_snapshot(person)


@blp.get("/people/<int:person_id>")
@blp.response(200, PersonOut)
def get_person(person_id: int):
    principal = auth.current()
    with services().db.read() as session:
        return person_snapshot(_scoped(session, CensusPerson, person_id, principal, "person"))


@blp.patch("/people/<int:person_id>")
@writer
@blp.arguments(PersonPatch)
@blp.response(200, PersonOut)
def update_person(body, person_id: int):
    """Change a person; the change is recorded (masked) in the history."""
    principal = auth.current()
    svc = services()
    with svc.db.write() as session, session.begin():
        person = _scoped(session, CensusPerson, person_id, principal, "person")
        values = _check_person_values(session, body, person.grid_path)
        if values.get("id_no"):
            other = session.scalars(select(CensusPerson.id).where(
                CensusPerson.id_hash == svc.vault.identity_hash(values["id_no"]), CensusPerson.id != person.id)).first()
            if other is not None:
                raise _registered_already()
        person, _ = save_person(session, svc.vault, svc.clock.now(), principal.username, person, values)
        return person_snapshot(person)


@blp.get("/people/<int:person_id>/personal-data")
@needs(UNMASK_ROLES, "您的角色无权查看个人敏感信息")
@blp.arguments(CensusPersonalDataQuery, location="query")
@blp.response(200, CensusPersonalDataOut)
def personal_data(query, person_id: int):
    """The real ID number and phone, for roles whose work needs them; each read is recorded with its reason."""
    principal = auth.current()
    svc = services()
    with svc.db.write() as session, session.begin():
        person = _scoped(session, CensusPerson, person_id, principal, "person")
        fields = ["id_no"] + (["phone"] if person.phone else [])
        record_change(session, svc.clock.now(), principal.username, "person", person.id, person.grid_path,
                      "personal_data_viewed", None, {"fields": fields, "reason": query["reason"]})
        reveal_personal_data()
        return {"id": person.id, "id_no": svc.vault.unseal(person.id_no),
                "phone": svc.vault.unseal(person.phone) if person.phone else None}


# --- other items and history -----------------------------------------------------------------

@blp.get("/items")
@blp.arguments(ItemsQuery, location="query")
@blp.response(200, ItemOut(many=True))
def list_items(query):
    """Households, houses, land parcels, events, things and organisations of your area."""
    principal = auth.current()
    with services().db.read() as session:
        statement = select(CensusItem).where(in_area(CensusItem.grid_path, principal))
        if query.get("grid"):
            statement = statement.where(CensusItem.grid_path == scoped_grid(session, principal, query["grid"]).path)
        if query.get("kind"):
            statement = statement.where(CensusItem.kind == query["kind"])
        return [item_snapshot(i) for i in session.scalars(statement.order_by(CensusItem.id).limit(1000))]


@blp.post("/items")
@writer
@blp.arguments(ItemIn)
@blp.response(201, ItemOut)
def create_item(body):
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        grid = scoped_grid(session, principal, body["grid"])
        item = CensusItem(kind=body["kind"], grid_path=grid.path, name=body["name"].strip(),
                          attributes=svc.vault.seal(body["attributes"]), created_at=now, updated_at=now)
        session.add(item)
        session.flush()
        record_change(session, now, principal.username, "item", item.id, grid.path, "create", None,
                      item_snapshot(item))
        return item_snapshot(item)


@blp.get("/changes")
@blp.arguments(ChangesQuery, location="query")
@blp.response(200, ChangeOut(many=True))
def list_changes(query):
    """The history of census rows in your area, newest first (values masked)."""
    statement = changes_in_area(CensusChange, CensusChange.grid_path, auth.current(), query)
    with services().db.read() as session:
        return list(session.scalars(statement))


# --- rounds and visits -----------------------------------------------------------------------

@blp.post("/rounds")
@needs(ROUND_ROLES, "只有网格员和乡镇综治专员可以安排排查轮次")
@blp.arguments(RoundIn)
@blp.response(201, RoundOut)
def create_round(body):
    """A weekly round for a grid: every person and item of the grid, to verify within the week."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        grid = scoped_grid(session, principal, body["grid"])
        if session.scalars(select(CensusRound.id).where(CensusRound.grid_path == grid.path,
                                                        CensusRound.week_start == body["week_start"])).first():
            raise ApiProblem(409, "this grid already has a round for that week", "该网格本周已有排查轮次")
        start, end = week_window(body["week_start"])
        rnd = CensusRound(grid_path=grid.path, week_start=body["week_start"], window_start=start, window_end=end,
                          created_by=principal.username, created_at=now)
        session.add(rnd)
        session.flush()
        # One INSERT … SELECT each for the grid's people and items: a grid of a real city lists
        # hundreds to thousands, and a row at a time took seconds (docs/performance.md "Scale").
        columns = ["round_id", "target_type", "target_id", "label"]
        session.execute(insert(CensusRoundItem).from_select(columns, select(
            literal(rnd.id), literal("person"), CensusPerson.id, CensusPerson.name)
            .where(CensusPerson.grid_path == grid.path).order_by(CensusPerson.id)))
        session.execute(insert(CensusRoundItem).from_select(columns, select(
            literal(rnd.id), literal("item"), CensusItem.id,
            func.substr(CensusItem.kind + literal(": ") + CensusItem.name, 1, 200))
            .where(CensusItem.grid_path == grid.path).order_by(CensusItem.id)))
        return round_view(session, rnd, now)


@blp.get("/rounds")
@blp.arguments(RoundsQuery, location="query")
@blp.response(200, RoundOut(many=True))
def list_rounds(query):
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        statement = select(CensusRound).where(in_area(CensusRound.grid_path, principal))
        if query.get("grid"):
            statement = statement.where(CensusRound.grid_path == scoped_grid(session, principal, query["grid"]).path)
        rounds = list(session.scalars(statement.order_by(CensusRound.week_start.desc()).limit(100)))
        return [round_view(session, r, svc.clock.now()) for r in rounds]


@blp.get("/rounds/<int:round_id>")
@blp.response(200, RoundOut)
def get_round(round_id: int):
    """A round's progress; items not verified by the end of the week show as overdue."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        return round_view(session, _scoped(session, CensusRound, round_id, principal, "round"), svc.clock.now())


@blp.post("/visits")
@needs(VISIT_ROLES, "只有网格员、镇村干部和驻村警（辅）可以登记走访")
@blp.arguments(VisitIn)
@blp.response(201, VisitOut)
def record_visit(body):
    """Record a visit (who: you; when; where; findings) and the people and items it verified."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    started, ended = body["started_at"].astimezone(timezone.utc), body["ended_at"].astimezone(timezone.utc)
    if ended > now + timedelta(minutes=5):
        raise _invalid("ended_at", "a visit cannot end in the future", "走访结束时间不能晚于当前时间")
    if ended - started > timedelta(hours=16):
        raise _invalid("ended_at", "a visit lasts at most 16 hours", "单次走访不超过 16 小时")
    with svc.db.write() as session, session.begin():
        principal = visiting_principal(session, principal)
        rnd = None
        if body.get("round_id") is not None:
            rnd = _scoped(session, CensusRound, body["round_id"], principal, "round")
            grid_path = rnd.grid_path
            if body.get("grid") and scoped_grid(session, principal, body["grid"]).path != grid_path:
                raise _invalid("grid", "the grid is not the round's grid", "网格与排查轮次不符")
        else:
            grid_path = scoped_grid(session, principal, body["grid"]).path
        targets = [(t["target_type"], t["target_id"]) for t in body["verified"]]
        bad = [f"{kind}:{ident}" for kind, ident in targets
               if (row := session.get(CensusPerson if kind == "person" else CensusItem, ident)) is None
               or row.grid_path != grid_path]
        if bad:
            raise _invalid("verified", f"not in the visit's grid: {', '.join(bad)}", "核实对象不在该网格中")
        visit = CensusVisit(round_id=rnd.id if rnd else None, grid_path=grid_path, worker=principal.username,
                            started_at=started, ended_at=ended, location=body["location"].strip(),
                            findings=body["findings"], verified=[{"target_type": k, "target_id": i} for k, i in targets],
                            created_at=now)
        session.add(visit)
        session.flush()
        if rnd is not None and targets:
            for entry in session.scalars(select(CensusRoundItem).where(CensusRoundItem.round_id == rnd.id)):
                if (entry.target_type, entry.target_id) in targets and entry.verified_at is None:
                    entry.verified_at, entry.verified_by, entry.visit_id = ended, principal.username, visit.id
        out = {c: getattr(visit, c) for c in ("id", "round_id", "grid_path", "worker", "started_at", "ended_at",
                                               "location", "findings", "verified")}
    out["police_lead"] = _police_lead(svc, principal.username, out) if body["police_relevant"] else None
    return out


def _police_lead(svc, actor: str, visit: dict) -> str:
    """双网融合: a police-relevant finding becomes a lead (lead_clue) that goes straight to the police
    liaison of the grid's town (the BPMN's ``police_first`` path)."""
    parts = [p for p in visit["grid_path"].split("/") if p]
    summary = (visit["findings"] or visit["location"]).strip()
    data = {"source": "grid_visit", "source_ref": f"visit-{visit['id']}", "lead_summary": summary[:4000],
            "parties": [], "address": visit["location"], "police_reported": True,
            "handler_unit": "/" + "/".join(parts[:3]) + "/"}
    view = svc.cases.start("lead_clue", data, actor, visit["grid_path"], f"走访涉警发现：{summary[:40]}")
    return view.case.case_no


@blp.get("/visit-hours")
@blp.arguments(VisitHoursQuery, location="query")
@blp.response(200, VisitHoursOut(many=True))
def get_visit_hours(query):
    """Hours of visits per worker on a local day, against the 4-hour daily target."""
    principal = auth.current()
    start = datetime.combine(query["date"], time(0), tzinfo=CHINA).astimezone(timezone.utc)
    end = start + timedelta(days=1)
    with services().db.read() as session:
        statement = select(CensusVisit).where(in_area(CensusVisit.grid_path, principal),
                                              CensusVisit.started_at < end, CensusVisit.ended_at > start)
        if query.get("grid"):
            statement = statement.where(CensusVisit.grid_path == scoped_grid(session, principal, query["grid"]).path)
        return visit_hours(list(session.scalars(statement)), query["date"])


# --- import and export -----------------------------------------------------------------------

@blp.post("/import")
@writer
@blp.arguments(CensusImportQuery, location="query")
@blp.response(200, CensusImportOut)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
def import_census(query):
    """Import people and households from .csv/.xlsx (columns: docs/census.md), all or nothing.

    Any bad row answers 422 listing each one ({file, sheet, row, column, message, detail}) and
    nothing is imported. ``dry_run=true`` checks and counts without writing."""
    principal = auth.current()
    uploads = request.files.getlist("files") or request.files.getlist("file")
    if not uploads:
        raise ApiProblem(400, "send .csv or .xlsx files as multipart/form-data under the field name 'files'",
                         "请选择要导入的文件")
    sources = [(upload.filename or "unnamed", upload.read()) for upload in uploads]
    return census_import.run(services(), sources, actor=principal.username, scope_path=principal.unit_path,
                             dry_run=query["dry_run"]).as_dict()


@blp.get("/export")
@blp.arguments(ExportQuery, location="query")
@blp.response(200, description="an .xlsx workbook in the import layout, personal data masked",
              content_type=XLSX)
def export_census(query):
    principal = auth.current()
    with services().db.read() as session:
        grid = scoped_grid(session, principal, query["grid"])
        content = export_xlsx(session, grid)
    return Response(content, mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="census-{grid.code}.xlsx"'})

"""The grid census (人、房、地、事、物、组织): people, households and other items per grid, with the
history of every change, and the weekly census rounds (拉网排) with the grid workers' visits.

Every row carries ``grid_path``, the materialised path of its grid unit, so scoping is the same
prefix test as for cases. ID numbers and phones are sealed by ``api.core.pii.Vault`` (encrypted, hashed
for matching, masked for display); ``census_changes`` keeps who changed what, when, with the
before and after *masked*.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.core.auth import Principal
from api.core.models import ChangeRecord, OrgUnit
from api.core.org import in_scope
from api.core.pii import Vault, masked
from api.core.problems import ApiProblem
from engine.clock import CHINA
from engine.models import BigId, Base

FLAGS = ("常住", "流动", "困难群体", "特殊人群", "重点人员")
ITEM_KINDS = ("household", "house", "land", "event", "thing", "organisation")
READ_ONLY = frozenset({"auditor", "designer"})
ROUND_ROLES = frozenset({"grid_worker", "town_officer", "town_director"})
# Who visits door to door (走访): grid workers, 镇村干部 (village and town cadres) and 驻村警(辅)
# (the police liaison of the town's station), at least four hours a day.
VISIT_ROLES = frozenset({"grid_worker", "village_mediator", "village_secretary", "town_officer", "town_director",
                         "justice_officer", "police_liaison"})
# Staff of a town's own departments (派出所, 司法所) visit the villages of their town.
TOWN_DEPARTMENT_ROLES = frozenset({"police_liaison", "justice_officer"})
DAILY_TARGET_HOURS = 4.0
MAX_VISIT = timedelta(hours=16)


class CensusItem(Base):
    """A household, house, land parcel, event, thing or organisation of a grid (attributes as JSON)."""

    __tablename__ = "census_items"
    __table_args__ = (Index("ix_census_items_grid_kind", "grid_path", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    grid_path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CensusPerson(Base):
    __tablename__ = "census_people"
    __table_args__ = (UniqueConstraint("id_hash", name="uq_census_people_id_hash"),
                      Index("ix_census_people_grid", "grid_path"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grid_path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(100))
    id_no: Mapped[dict[str, Any]]  # sealed
    id_hash: Mapped[str] = mapped_column(String(64))
    phone: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)  # sealed
    household_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("census_items.id"), nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    flags: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CensusChange(ChangeRecord, Base):
    """One create or update of a census row (or a read of its personal data), values masked."""

    __tablename__ = "census_changes"
    __table_args__ = (Index("ix_census_changes_target", "target_type", "target_id"),)

    grid_path: Mapped[str] = mapped_column(String(400), index=True)  # target_type: person or item


class CensusRound(Base):
    """A weekly round of one grid: the listed people and items must be verified within the window."""

    __tablename__ = "census_rounds"
    __table_args__ = (UniqueConstraint("grid_path", "week_start", name="uq_census_rounds_grid_week"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grid_path: Mapped[str] = mapped_column(String(400), index=True)
    week_start: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class CensusRoundItem(Base):
    __tablename__ = "census_round_items"
    __table_args__ = (UniqueConstraint("round_id", "target_type", "target_id", name="uq_census_round_items"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(BigId, ForeignKey("census_rounds.id"), index=True)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(BigId)
    label: Mapped[str] = mapped_column(String(200))
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    visit_id: Mapped[int | None] = mapped_column(BigId, nullable=True)


class CensusVisit(Base):
    __tablename__ = "census_visits"
    __table_args__ = (Index("ix_census_visits_worker_start", "worker", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("census_rounds.id"), nullable=True)
    grid_path: Mapped[str] = mapped_column(String(400), index=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(300))
    findings: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[list[Any]]  # [{target_type, target_id}]
    created_at: Mapped[datetime]


# --- scoping and access ----------------------------------------------------------------------

def not_found(what: str, ident: Any) -> ApiProblem:
    return ApiProblem(404, f"{what} {ident} does not exist or is outside your jurisdiction",
                      "未找到，或不在您的管辖范围内")


def require_writer(principal: Principal) -> None:
    if principal.roles and principal.roles <= READ_ONLY:
        raise ApiProblem(403, "auditors and designers change nothing in the census", "审计员和流程设计员不能修改普查数据")


def require_roles(principal: Principal, roles: frozenset[str], zh: str) -> None:
    if not principal.roles & roles:
        raise ApiProblem(403, f"this needs one of the roles: {', '.join(sorted(roles))}", zh)


def scoped_grid(session: Session, principal: Principal, code_or_path: str) -> OrgUnit:
    """A grid unit by code or path, in the caller's area (404 otherwise)."""
    value = (code_or_path or "").strip()
    column = OrgUnit.path if value.startswith("/") else OrgUnit.code
    unit = session.scalars(select(OrgUnit).where(column == value)).first()
    if unit is None or unit.kind != "grid" or not in_scope(unit.path, principal.unit_path):
        raise not_found("grid", value)
    return unit


def visiting_principal(session: Session, principal: Principal) -> Principal:
    """The caller as a visitor: 驻村警(辅) and 司法所 staff sit in a department of a town but visit the
    town's villages, so for visits their area is the town; everyone else keeps their own area."""
    if not principal.roles & TOWN_DEPARTMENT_ROLES:
        return principal
    unit = session.scalars(select(OrgUnit).where(OrgUnit.path == principal.unit_path)).first()
    parent = session.get(OrgUnit, unit.parent_id) if unit is not None and unit.parent_id else None
    if unit is None or unit.kind != "department" or parent is None or parent.kind != "town":
        return principal
    return replace(principal, unit_path=parent.path)


# --- people and history ----------------------------------------------------------------------

def person_snapshot(person: CensusPerson) -> dict[str, Any]:
    """The person as history and answers show them: personal data masked."""
    return {"id": person.id, "grid_path": person.grid_path, "name": person.name, "id_no": masked(person.id_no),
            "phone": masked(person.phone) if person.phone else None, "household_id": person.household_id,
            "address": person.address, "flags": list(person.flags)}


def item_snapshot(item: CensusItem) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "grid_path": item.grid_path, "name": item.name,
            "attributes": masked(item.attributes)}


def record_change(session: Session, now: datetime, actor: str, target_type: str, target_id: int, grid_path: str,
                  action: str, before: dict | None, after: dict | None) -> None:
    session.add(CensusChange(target_type=target_type, target_id=target_id, grid_path=grid_path, action=action,
                             actor=actor, at=now, before=before, after=after))


def seal_one(vault: Vault, kind: str, value: str) -> dict[str, Any]:
    return vault.seal({kind: value})[kind]


def save_person(session: Session, vault: Vault, now: datetime, actor: str, person: CensusPerson | None,
                values: dict[str, Any]) -> tuple[CensusPerson, str]:
    """Create or update a person from plain ``values`` (name, id_no, phone, grid_path, address, flags,
    household_id); writes the history row. Returns the person and created/updated/unchanged."""
    before = person_snapshot(person) if person is not None else None
    if person is None:
        person = CensusPerson(created_at=now, updated_at=now, flags=[], address="")
        session.add(person)
    for key in ("name", "grid_path", "address", "household_id"):
        if key in values:
            setattr(person, key, values[key])
    if "flags" in values:
        person.flags = [f for f in FLAGS if f in values["flags"]]
    sealed_changed = False  # a new number may mask like the old one
    if values.get("id_no"):
        id_hash = vault.identity_hash(values["id_no"])
        if getattr(person, "id_hash", None) != id_hash:
            person.id_no, person.id_hash = seal_one(vault, "id_no", values["id_no"]), id_hash
            sealed_changed = True
    if "phone" in values:
        phone = values["phone"] or None
        current = person.phone.get("hash") if person.phone else None
        if phone is None:
            sealed_changed = sealed_changed or current is not None
            person.phone = None
        elif current != vault.identity_hash(phone):
            person.phone = seal_one(vault, "phone", phone)
            sealed_changed = True
    session.flush()
    after = person_snapshot(person)
    if before is None:
        record_change(session, now, actor, "person", person.id, person.grid_path, "create", None, after)
        return person, "created"
    if after != before or sealed_changed:
        person.updated_at = now
        record_change(session, now, actor, "person", person.id, person.grid_path, "update", before, after)
        return person, "updated"
    return person, "unchanged"


def household_for(session: Session, now: datetime, actor: str, cache: dict[tuple[str, str, str], CensusItem],
                  grid_path: str, address: str, head: str) -> tuple[CensusItem | None, bool]:
    """The household (grid, address, head), created (with history) when new; and whether it was."""
    if not address and not head:
        return None, False
    key = (grid_path, address, head)
    loaded = ("#loaded", grid_path, "")
    if key not in cache and loaded not in cache:
        cache[loaded] = None  # type: ignore[assignment]
        for item in session.scalars(select(CensusItem).where(CensusItem.kind == "household",
                                                             CensusItem.grid_path == grid_path)):
            cache[(item.grid_path, item.attributes.get("address", ""), item.attributes.get("head", ""))] = item
    if key not in cache:
        item = CensusItem(kind="household", grid_path=grid_path, name=f"{head or '?'}户 {address}".strip()[:200],
                          attributes={"address": address, "head": head}, created_at=now, updated_at=now)
        session.add(item)
        session.flush()
        record_change(session, now, actor, "item", item.id, grid_path, "create", None, item_snapshot(item))
        cache[key] = item
        return item, True
    return cache[key], False


# --- rounds and visits -----------------------------------------------------------------------

def week_window(week_start: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, China time."""
    start = datetime.combine(week_start, time(0), tzinfo=CHINA).astimezone(timezone.utc)
    return start, start + timedelta(days=7)


def round_view(session: Session, rnd: CensusRound, now: datetime) -> dict[str, Any]:
    items = list(session.scalars(select(CensusRoundItem).where(CensusRoundItem.round_id == rnd.id)
                                 .order_by(CensusRoundItem.id)))
    closed = now >= rnd.window_end
    # Overdue: not verified by the end of the window, or verified only after it.
    out_items = [{"target_type": i.target_type, "target_id": i.target_id, "label": i.label,
                  "verified_at": i.verified_at, "verified_by": i.verified_by, "visit_id": i.visit_id,
                  "overdue": (i.verified_at is None and closed)
                  or (i.verified_at is not None and i.verified_at > rnd.window_end)} for i in items]
    verified_in_time = sum(1 for i in out_items if i["verified_at"] is not None and not i["overdue"])
    verified = sum(1 for i in items if i.verified_at is not None)
    return {"id": rnd.id, "grid_path": rnd.grid_path, "week_start": rnd.week_start, "window_start": rnd.window_start,
            "window_end": rnd.window_end, "created_by": rnd.created_by, "created_at": rnd.created_at,
            "closed": closed, "items": out_items,
            "progress": {"total": len(items), "verified": verified,
                         "verified_in_time": verified_in_time,
                         "overdue": sum(1 for i in out_items if i["overdue"]),
                         "percent": round(100 * verified / len(items), 1) if items else 100.0}}


def visit_hours(visits: list[CensusVisit], day: date) -> list[dict[str, Any]]:
    """Hours of visits per worker on one local (China) day; the part of a visit inside the day counts."""
    start = datetime.combine(day, time(0), tzinfo=CHINA)
    end = start + timedelta(days=1)
    per_worker: dict[str, dict[str, Any]] = {}
    for visit in visits:
        seconds = (min(visit.ended_at, end) - max(visit.started_at, start)).total_seconds()
        if seconds <= 0:
            continue
        entry = per_worker.setdefault(visit.worker, {"worker": visit.worker, "date": day, "hours": 0.0, "visits": 0})
        entry["hours"] += seconds / 3600
        entry["visits"] += 1
    out = []
    for entry in sorted(per_worker.values(), key=lambda e: e["worker"]):
        entry["hours"] = round(entry["hours"], 2)
        entry["target_hours"] = DAILY_TARGET_HOURS
        entry["meets_target"] = entry["hours"] >= DAILY_TARGET_HOURS
        out.append(entry)
    return out

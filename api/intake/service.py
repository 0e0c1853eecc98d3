"""Intake from outside systems (12345, 110, court, petitions, one-key calls, grid reports).

A push is checked against its channel's JSON Schema, claimed once per (channel, source_ref) in
``intake_records`` in the same transaction as its case (so a repeated push, even a concurrent one,
creates nothing and answers with the first push's case), linked to open cases of the same parties
(identity hash, phone hash, address + category) and turned into a ``lead_clue`` or
``dispute_intake`` case. The record then reports the case's state: on request (status endpoint)
and, from the worker, to the channel's webhook whenever the case's version moved on.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import unicodedata
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, insert, select,
                        update)
from sqlalchemy.orm import Mapped, mapped_column

from api.census import heads
from api.core import categories
from api.core.models import OrgUnit
from api.core.problems import ApiProblem
from engine.clock import CHINA
from engine.errors import AlreadyDone
from engine.models import Base, Case, CaseField, CaseTask, MessageOutbox, MessageReceipt
from engine.store import insert_once

from .schemas import CHANNELS

log = logging.getLogger(__name__)

BigId = BigInteger().with_variant(Integer(), "sqlite")
OPEN_STATUSES = ("active", "waiting", "incident", "suspended")
CITY_ROOT = "/macheng/"
LEAD_CHANNELS = {"hotline_12345", "police_110", "court_divorce", "petition"}
# dispute_intake's `channel` for the channels that start a case directly.
# `resident` is the residents' own page (api/resident), not an outside system: it has no API key.
CASE_CHANNELS = {"one_key_call": "one_key_call", "grid_report": "grid_patrol", "resident": "resident"}
CHANNEL_NAMES = {"hotline_12345": "12345热线", "police_110": "110警情", "court_divorce": "离婚诉讼",
                 "petition": "信访", "one_key_call": "一键呼叫", "grid_report": "网格上报", "resident": "解纷码"}
# Channels where the party brings the matter themselves (当事人申请).
APPLIED_BY_PARTY = ("one_key_call", "resident")
# Channel fields copied into the case data as they are.
EXTRA_FIELDS = ("reply_by", "urgency", "incident_no", "police_station", "court_case_no", "filing_date", "court",
                "petition_no", "caller_phone", "building_head", "grid_code", "reporter", "police_matter")
# Channels whose case goes to the grid of its address (双网融合: a 110 lead, 即呼即应: a one-key call).
LOCATED_CHANNELS = ("one_key_call", "police_110")


class IntakeKey(Base):
    """An API key of one channel; only its sha256 is stored."""

    __tablename__ = "intake_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class IntakeRecord(Base):
    """One push per (channel, source_ref): the case it made and what was last reported back."""

    __tablename__ = "intake_records"
    __table_args__ = (UniqueConstraint("channel", "source_ref", name="uq_intake_records_channel_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(40))
    source_ref: Mapped[str] = mapped_column(String(100))
    process_key: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"), nullable=True, index=True)
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    received_at: Mapped[datetime]
    reply_by: Mapped[datetime | None] = mapped_column(nullable=True)
    linked_cases: Mapped[list[Any]] = mapped_column(default=list)
    last_reported_version: Mapped[int] = mapped_column(default=0)
    reported_at: Mapped[datetime | None] = mapped_column(nullable=True)


class IntakeParty(Base):
    """Keyed hashes of the ID numbers and phones of a push, so later pushes find the case by phone
    (case data indexes only ID-number hashes)."""

    __tablename__ = "intake_parties"
    __table_args__ = (Index("ix_intake_parties_hash", "kind", "hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("intake_records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # id_no or phone
    hash: Mapped[str] = mapped_column(String(64))


class IntakeResponse(Base):
    """How a one-key call (即呼即应) was answered: call received → the response registration done,
    within the ``one_key_response`` window or not, and when the process escalated it to the town."""

    __tablename__ = "intake_responses"
    __table_args__ = (UniqueConstraint("record_id", name="uq_intake_responses_record"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("intake_records.id"))
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)  # the KPIs look up by case
    received_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    within_window: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    recorded_at: Mapped[datetime]


# -- API keys --------------------------------------------------------------------------------------

def new_key(db, channel: str, label: str, now: datetime) -> str:
    """Create a key for a channel; the key itself is returned once and never stored."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    key = f"ck_{channel}_{secrets.token_urlsafe(32)}"
    with db.write_engine.begin() as conn:
        conn.execute(insert(IntakeKey.__table__), [{"channel": channel, "key_hash": _sha256(key), "label": label[:200],
                                                    "created_at": now, "revoked_at": None}])
    return key


def list_keys(db) -> list[IntakeKey]:
    with db.read() as session:
        keys = list(session.scalars(select(IntakeKey).order_by(IntakeKey.id)))
        session.expunge_all()
        return keys


def revoke_key(db, key_id: int, now: datetime) -> IntakeKey | None:
    """Revoke a key (kept, with ``revoked_at``); None when there is no such key. Revoking twice keeps
    the first time."""
    with db.write() as session, session.begin():
        key = session.get(IntakeKey, key_id)
        if key is None:
            return None
        if key.revoked_at is None:
            key.revoked_at = now
        session.flush()
        session.expunge(key)
        return key


def check_key(db, channel: str, key: str) -> None:
    """401 without a live key, 403 with the live key of another channel."""
    row = None
    if key:
        with db.read() as session:
            row = session.scalars(select(IntakeKey).where(IntakeKey.key_hash == _sha256(key),
                                                          IntakeKey.revoked_at.is_(None))).first()
    if row is None:
        raise ApiProblem(401, "send a valid 'X-Api-Key' header for this channel (cunliao intake-key create CHANNEL)",
                         "接口密钥缺失、无效或已吊销")
    if row.channel != channel:
        raise ApiProblem(403, f"this API key belongs to channel {row.channel}, not {channel}",
                         "该接口密钥不属于此渠道")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- intake ----------------------------------------------------------------------------------------

@dataclass
class Intake:
    record: IntakeRecord
    created: bool


def receive(svc, channel: str, body: dict[str, Any], extra: dict[str, Any] | None = None,
            also=None) -> Intake:
    """Start the channel's process for a validated body, once per (channel, source_ref): the record
    is written in the case's own transaction, so of two pushes at once one starts the case and the
    other, finding the reference taken, answers with that case. ``extra`` joins the start data;
    ``also`` writes the caller's rows in the same transaction."""
    source_ref = body["source_ref"]
    existing = find_record(svc.db, channel, source_ref)
    if existing is not None:
        return Intake(existing, False)
    jurisdiction, village = resolve_unit(svc.db, channel, body)
    jurisdiction, village, located = locate(svc.db, channel, body, jurisdiction, village)
    hashes = party_hashes(svc.vault, channel, body)
    linked = find_linked(svc.db, hashes, body)
    process_key = "lead_clue" if channel in LEAD_CHANNELS else "dispute_intake"
    now = svc.clock.now()
    summary = body["what"]["summary"][:60]
    if process_key == "lead_clue":
        data, title = lead_data(channel, body, linked, village), f"{CHANNEL_NAMES[channel]}线索：{summary}"
    else:
        data, title = case_data(channel, body, now), f"{CHANNEL_NAMES[channel]}：{summary}"
    data.update(located)
    data.update(extra or {})
    claim = _record_writer(channel, source_ref, process_key, now, body, linked, hashes)

    def write(conn, case: Case) -> None:
        claim(conn, case)
        if also is not None:
            also(conn, case)
    try:
        svc.cases.start(process_key, data, f"intake:{channel}", jurisdiction, title, also=write)
    except AlreadyDone:  # another push of the same reference won the race
        return Intake(find_record(svc.db, channel, source_ref), False)
    return Intake(find_record(svc.db, channel, source_ref), True)


def find_record(db, channel: str, source_ref: str) -> IntakeRecord | None:
    with db.read() as session:
        record = session.scalars(select(IntakeRecord).where(IntakeRecord.channel == channel,
                                                            IntakeRecord.source_ref == source_ref)).first()
        if record is not None:
            session.expunge(record)
        return record


def _record_writer(channel: str, source_ref: str, process_key: str, now: datetime, body: dict[str, Any],
                   linked: list[dict[str, Any]], hashes: dict[str, set[str]]):
    """The intake record and its party hashes, written in the new case's transaction; a reference
    already taken refuses the whole start."""
    reply_by = _instant(body["reply_by"]) if body.get("reply_by") else None

    def write(conn, case: Case) -> None:
        record_id = insert_once(conn, IntakeRecord.__table__, {
            "channel": channel, "source_ref": source_ref, "process_key": process_key, "case_id": case.id,
            "case_no": case.case_no, "received_at": now, "reply_by": reply_by, "linked_cases": linked,
            "last_reported_version": case.version, "reported_at": None}, ["channel", "source_ref"])
        if record_id is None:
            raise AlreadyDone(f"{channel} {source_ref} was already received", source_ref=source_ref)
        rows = [{"record_id": record_id, "kind": kind, "hash": h} for kind, values in hashes.items()
                for h in sorted(values)]
        if rows:
            conn.execute(insert(IntakeParty.__table__), rows)
    return write


def resolve_unit(db, channel: str, body: dict[str, Any]) -> tuple[str, str | None]:
    """The case's jurisdiction: the unit named by code or path (the grid for grid reports), else the
    city; and the village it lies in, if any (a lead's first handler)."""
    where = body.get("where") or {}
    code = body.get("grid_code") if channel == "grid_report" else where.get("unit_code")
    field = "grid_code" if channel == "grid_report" else "where.unit_code"
    with db.read() as session:
        if code:
            unit = session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
            if unit is None:
                raise ApiProblem(422, f"unknown unit code {code!r}", "单位编码不存在",
                                 errors={field: "单位编码不存在"})
        elif where.get("unit_path"):
            unit = session.scalars(select(OrgUnit).where(OrgUnit.path == where["unit_path"])).first()
            if unit is None:
                raise ApiProblem(422, f"unknown unit path {where['unit_path']!r}", "单位路径不存在",
                                 errors={"where.unit_path": "单位路径不存在"})
        else:
            return CITY_ROOT, None
        parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
        if unit.kind == "village":
            return unit.path, unit.path
        return unit.path, parent.path if unit.kind == "grid" and parent is not None else None


def locate(db, channel: str, body: dict[str, Any], jurisdiction: str,
           village: str | None) -> tuple[str, str | None, dict[str, Any]]:
    """The grid of the address, when the roster of 楼栋长/组长 or the census knows it, as the case's
    jurisdiction (only ever a unit within the one named); its village; and for a one-key call the
    head of the building or group the address names (``building_head_user`` gets the answer task)."""
    address = (body.get("where") or {}).get("address")
    if channel not in LOCATED_CHANNELS or not address:
        return jurisdiction, village, {}
    with db.read() as session:
        head = heads.head_for_address(session, jurisdiction, address) if channel == "one_key_call" else None
        grid = head.grid_path if head is not None else heads.grid_of_address(session, jurisdiction, address)
    found: dict[str, Any] = {}
    if head is not None:
        found = {"building_head_user": head.username or "", "building_label": head.label,
                 "building_head": body.get("building_head") or head.name}
    if grid and grid.startswith(jurisdiction) and grid != jurisdiction:
        parts = [p for p in grid.split("/") if p]
        jurisdiction, village = grid, "/" + "/".join(parts[:3]) + "/" if len(parts) >= 3 else village
    return jurisdiction, village, found


def party_hashes(vault, channel: str, body: dict[str, Any]) -> dict[str, set[str]]:
    hashes: dict[str, set[str]] = {"id_no": set(), "phone": set()}
    for party in body.get("parties") or []:
        for kind in ("id_no", "phone"):
            if party.get(kind):
                hashes[kind].add(vault.identity_hash(party[kind]))
    if body.get("caller_phone"):
        hashes["phone"].add(vault.identity_hash(body["caller_phone"]))
    return hashes


def find_linked(db, hashes: dict[str, set[str]], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Open cases of the same parties (ID number or phone) or of the same address and category."""
    matches: dict[int, set[str]] = {}
    with db.read() as session:
        if hashes["id_no"]:
            for case_id in session.scalars(select(CaseField.case_id).join(Case, Case.id == CaseField.case_id).where(
                    CaseField.name == "party_hash", CaseField.value.in_(sorted(hashes["id_no"])),
                    Case.status.in_(OPEN_STATUSES))):
                matches.setdefault(case_id, set()).add("id_no")
        if hashes["phone"]:
            for case_id in session.scalars(
                    select(IntakeRecord.case_id).join(IntakeParty, IntakeParty.record_id == IntakeRecord.id)
                    .join(Case, Case.id == IntakeRecord.case_id)
                    .where(IntakeParty.kind == "phone", IntakeParty.hash.in_(sorted(hashes["phone"])),
                           Case.status.in_(OPEN_STATUSES))):
                matches.setdefault(case_id, set()).add("phone")
        address = normal_address((body.get("where") or {}).get("address"))
        category = categories.current().canonical((body.get("what") or {}).get("category"))
        if address and category:
            candidates = session.execute(select(Case.id, Case.data).join(CaseField, CaseField.case_id == Case.id).where(
                CaseField.name == "category", CaseField.value == category, Case.status.in_(OPEN_STATUSES)).limit(500))
            for case_id, data in candidates:
                if normal_address((data or {}).get("address")) == address:
                    matches.setdefault(case_id, set()).add("address_category")
        if not matches:
            return []
        cases = session.scalars(select(Case).where(Case.id.in_(sorted(matches))).order_by(Case.id))
        return [{"case_no": c.case_no, "process_key": c.process_key, "status": c.status, "title": c.title,
                 "match": sorted(matches[c.id])} for c in cases]


def normal_address(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(unicodedata.normalize("NFKC", value).split()).lower()


def lead_data(channel: str, body: dict[str, Any], linked: list[dict[str, Any]],
              village: str | None) -> dict[str, Any]:
    """The start data of lead_clue (docs/processes/lead_clue.md)."""
    what = body["what"]
    data: dict[str, Any] = {"source": channel, "source_ref": body["source_ref"],
                            "lead_summary": _summary(what), "parties": _parties(body)}
    data.update(_common(body))
    if channel == "hotline_12345":
        data["hotline_type"] = body.get("hotline_type") or ("emergency" if body.get("urgency") == "emergency"
                                                            else "general")
    if len(linked) == 1:
        data["linked_case_no"] = linked[0]["case_no"]
    if village:
        data["handler_unit"] = village
    return data


def case_data(channel: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The start data of dispute_intake: the registration fields (workflows/forms/intake_register)."""
    what = body["what"]
    parties = _parties(body)
    if not parties and body.get("caller_phone"):
        parties = [{"role": "主要当事人", "name": "来电群众", "phone": body["caller_phone"]}]
    occurred = (body.get("when") or {}).get("occurred_at") or (body.get("when") or {}).get("reported_at")
    data: dict[str, Any] = {
        "title": f"{CHANNEL_NAMES[channel]}：{what['summary'][:60]}", "summary": _summary(what),
        "occurred_at": (_instant(occurred) if occurred else now).astimezone(CHINA).date().isoformat(),
        "channel": CASE_CHANNELS[channel], "intake_mode": "当事人申请" if channel in APPLIED_BY_PARTY else "主动排查",
        "source_ref": body["source_ref"], "parties": parties}
    data.update(_common(body))
    return data


def _common(body: dict[str, Any]) -> dict[str, Any]:
    what, where, when = body["what"], body.get("where") or {}, body.get("when") or {}
    data: dict[str, Any] = {k: body[k] for k in EXTRA_FIELDS if body.get(k) not in (None, "")}
    if what.get("category"):
        # the outside system's word, and the catalogue's category when the word names one (the
        # screener classifies the rest)
        data["category_reported"] = what["category"]
        canonical = categories.current().canonical(what["category"])
        if canonical:
            data["category"] = canonical
    if where.get("address"):
        data["address"] = where["address"]
    if where.get("lat") is not None and where.get("lng") is not None:
        data["location"] = {"lat": where["lat"], "lng": where["lng"]}
    for key in ("occurred_at", "reported_at"):
        if when.get(key):
            data[f"source_{key}"] = when[key]
    return data


def _summary(what: dict[str, Any]) -> str:
    return "\n".join(filter(None, [what["summary"], what.get("description")]))[:4000]


# A court names parties by their standing in the lawsuit; the case's party model (intake_register,
# lead_screen) names them by their standing in the mediation. The court's word is kept beside it.
ROLE_SYNONYMS = {"原告": "申请人", "被告": "被申请人"}


def _parties(body: dict[str, Any]) -> list[dict[str, Any]]:
    parties = []
    for p in body.get("parties") or []:
        reported = p.get("role") or "主要当事人"
        party = {"role": ROLE_SYNONYMS.get(reported, reported), **{k: p[k] for k in ("name", "phone", "id_no") if p.get(k)}}
        if reported in ROLE_SYNONYMS:
            party["role_reported"] = reported
        parties.append(party)
    return parties


def _instant(text: str) -> datetime:
    """An ISO 8601 time as aware UTC (stored so on every database); a time without zone is China's."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)).astimezone(timezone.utc)


# -- reporting back --------------------------------------------------------------------------------

def status(db, record: IntakeRecord, now: datetime) -> dict[str, Any]:
    """What the source system sees: the case's state, its ready steps and, for 12345, the deadline."""
    with db.read() as session:
        case = session.get(Case, record.case_id) if record.case_id else None
        tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == record.case_id)
                                     .order_by(CaseTask.created_at, CaseTask.id))) if case else []
    out: dict[str, Any] = {
        "channel": record.channel, "source_ref": record.source_ref, "case_no": record.case_no,
        "process_key": record.process_key, "status": case.status if case else "pending",
        "result": _result(case), "steps": [t.name for t in tasks if t.state == "ready"],
        "version": case.version if case else 0, "received_at": record.received_at,
        "updated_at": case.updated_at if case else record.received_at, "linked_cases": record.linked_cases or []}
    if record.channel == "hotline_12345":
        out["reply_by"] = record.reply_by
        out["reply_met"] = _reply_met(record.reply_by, case, tasks, now)
    if record.process_key == "lead_clue" and case is not None:
        out["converted_case"] = converted_case(db, case.id)
    if record.channel == "one_key_call" and case is not None:
        response = record_response(db, record, tasks, now)
        out["response"] = {k: getattr(response, k) for k in (
            "received_at", "due_at", "answered_at", "answered_by", "response_seconds", "within_window", "escalated_at")}
        levels = [ESCALATION_TASKS[t.element_id] for t in tasks if t.element_id in ESCALATION_TASKS]
        out["response"]["escalated_to"] = "town" if "town" in levels else (levels[0] if levels else None)
        out["response"]["answered_role"] = (case.data or {}).get("onekey_answered_role") or None
    return out


def converted_case(db, lead_case_id: int) -> dict[str, Any] | None:
    """The case a lead became: its ``lead_converted`` message started a dispute_intake case, whose id
    the delivery receipt of that outbox row holds."""
    with db.read() as session:
        outbox_ids = list(session.scalars(select(MessageOutbox.id).where(
            MessageOutbox.sender_case_id == lead_case_id, MessageOutbox.name == "lead_converted")
            .order_by(MessageOutbox.id)))
        for outbox_id in outbox_ids:
            receipt = session.get(MessageReceipt, f"outbox:{outbox_id}")
            for case_id in (receipt.case_ids if receipt else []):
                case = session.get(Case, case_id)
                if case is not None:
                    return {"case_id": case.id, "case_no": case.case_no, "process_key": case.process_key,
                            "status": case.status}
    return None


# The one-key response (one_key_response.bpmn): the first of the head's or the grid worker's
# registration answers the call; the timers' tasks escalate it to the village, then the town.
ANSWER_TASKS = ("register_onekey_head", "register_onekey")
ESCALATION_TASKS = {"onekey_escalate_village": "village", "onekey_escalate": "town"}


def record_response(db, record: IntakeRecord, tasks: list[CaseTask], now: datetime) -> IntakeResponse:
    """Write (or bring up to date) the response record of a one-key call from its case's tasks."""
    answers = [t for t in tasks if t.element_id in ANSWER_TASKS]
    done = sorted((t for t in answers if t.state == "completed" and t.closed_at), key=lambda t: t.closed_at)
    answer = done[0] if done else (answers[0] if answers else None)
    escalation = min((t for t in tasks if t.element_id in ESCALATION_TASKS), key=lambda t: t.created_at, default=None)
    answered_at = answer.closed_at if answer is not None and answer.state == "completed" else None
    due_at = answer.due_at if answer is not None else None
    values = {
        "received_at": record.received_at, "due_at": due_at, "answered_at": answered_at,
        "answered_by": answer.closed_by if answered_at else None,
        "response_seconds": int((answered_at - record.received_at).total_seconds()) if answered_at else None,
        "within_window": (answered_at <= due_at if answered_at and due_at else
                          (False if due_at is not None and now > due_at else None)),
        "escalated_at": escalation.created_at if escalation is not None else None}
    with db.write() as session, session.begin():
        # Two readers of one status at once (the push's answer and a repeated push, the webhook
        # round): the first creates the row, the other finds it and brings it up to date.
        insert_once(session.connection(), IntakeResponse.__table__, {
            "record_id": record.id, "case_id": record.case_id, "recorded_at": now, **values}, ["record_id"])
        row = session.scalars(select(IntakeResponse).where(IntakeResponse.record_id == record.id)).one()
        if any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.recorded_at = now
        session.flush()
        session.expunge(row)
    return row


def _result(case: Case | None) -> str | None:
    if case is None:
        return None
    value = (case.data or {}).get("lead_result") or (case.data or {}).get("intake_result")
    return value or None


def _reply_met(reply_by: datetime | None, case: Case | None, tasks: list[CaseTask], now: datetime) -> bool | None:
    """True when the source was answered (feedback done, or the lead closed) by the deadline."""
    if reply_by is None or case is None:
        return None
    answered = [t.closed_at for t in tasks if t.element_id == "feedback" and t.state == "completed" and t.closed_at]
    if not answered and case.status == "completed" and case.completed_at:
        answered = [case.completed_at]
    if answered:
        return min(answered) <= reply_by
    return False if now > reply_by else None


def webhook_urls(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Channel → URL from ``INTAKE_WEBHOOK_URLS`` (JSON object) and ``INTAKE_WEBHOOK_<CHANNEL>``."""
    environ = os.environ if environ is None else environ
    urls: dict[str, str] = {}
    raw = environ.get("INTAKE_WEBHOOK_URLS", "").strip()
    if raw:
        try:
            parsed = json.loads(raw)
            urls.update({k: v for k, v in parsed.items() if k in CHANNELS and isinstance(v, str) and v})
        except (ValueError, AttributeError):
            log.warning("INTAKE_WEBHOOK_URLS is not a JSON object of channel to URL; ignored")
    for channel in CHANNELS:
        url = environ.get(f"INTAKE_WEBHOOK_{channel.upper()}", "").strip()
        if url:
            urls[channel] = url
    return urls


def report_changes(db, urls: dict[str, str], now: datetime, limit: int = 100, timeout: float = 5.0) -> int:
    """Post the status of every intake whose case changed since its last report; returns how many
    the receivers accepted. A failing receiver is retried next round (its channel waits till then)."""
    if not urls:
        return 0
    with db.read() as session:
        rows = list(session.execute(
            select(IntakeRecord, Case.version).join(Case, Case.id == IntakeRecord.case_id)
            .where(Case.version > IntakeRecord.last_reported_version, IntakeRecord.channel.in_(sorted(urls)))
            .order_by(IntakeRecord.id).limit(limit)))
        session.expunge_all()
    failed: set[str] = set()
    sent = 0
    for record, version in rows:
        if record.channel in failed:
            continue
        body = json.dumps(status(db, record, now), ensure_ascii=False, default=_json_default).encode()
        # At least once: a crash between the receiver's answer and our mark posts it again, with
        # the same key (one per case version), so the receiver can drop the repeat.
        request = urllib.request.Request(urls[record.channel], data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"intake-{record.channel}-{record.source_ref}-v{version}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                ok = 200 <= response.status < 300
        except (OSError, ValueError) as exc:
            log.warning("intake webhook of %s refused %s: %s; will retry", record.channel, record.source_ref, exc)
            ok = False
        if not ok:
            failed.add(record.channel)
            continue
        with db.write_engine.begin() as conn:
            conn.execute(update(IntakeRecord.__table__).where(IntakeRecord.__table__.c.id == record.id)
                         .values(last_reported_version=version, reported_at=now))
        sent += 1
    return sent


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")

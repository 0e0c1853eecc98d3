"""The engine's tables: definitions, cases, their open-task and timer indexes, and the event log.

The workflow state of a case is SpiffWorkflow's serialization *without* the process spec, which
is stored once per definition version as the source files it was parsed from.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JsonType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        # SQLite keeps the wall-clock fields only: a China-time bound (a report's day start) must
        # become UTC first, or it compares 8 hours off against the stored UTC values.
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, datetime: UtcDateTime}


class DefinitionFile(Base):
    """Content-addressed source files (BPMN, DMN, form schemas)."""

    __tablename__ = "definition_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class DefinitionVersion(Base):
    """An immutable, numbered version of one process key.

    ``files`` is the closure the process was parsed from ([{name, sha256}]): its own file, the
    files of the processes it calls, the decisions and forms it uses. ``sha256`` hashes that closure,
    so redeploying unchanged files makes no new version.
    """

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    files: Mapped[list[Any]]
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime]


class DocumentTemplate(Base):
    """An immutable, numbered version of one document template (engine/templates.py): ``files`` is
    its closure ([{name, sha256}] in definition_files), ``sha256`` hashes it, so redeploying an
    unchanged template makes no new version."""

    __tablename__ = "document_templates"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    files: Mapped[list[Any]]
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime]


class Case(Base):
    __tablename__ = "cases"
    # The KPIs' walk by area tests the registration window from the index alone (migration 0024).
    __table_args__ = (Index("ix_cases_jurisdiction", "jurisdiction", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(default=1)
    jurisdiction: Mapped[str] = mapped_column(String(400), default="")
    title: Mapped[str] = mapped_column(String(400), default="")
    event_seq: Mapped[int] = mapped_column(default=0)
    chain_head: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(index=True)  # registration windows: KPIs, the case list
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # 首办负责人: the first person who signed for (claimed or completed a task of) the case.
    first_handler: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    # The large columns last: SQLite reads a column after them only through the row's overflow
    # pages (migration 0024).
    incident: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(Text)


class CaseTask(Base):
    """One row per user task that was ever ready: the inbox is a query on this table, never a
    workflow load. ``state`` is ready, completed or cancelled."""

    __tablename__ = "case_tasks"
    __table_args__ = (Index("ix_case_tasks_inbox", "state", "role", "jurisdiction"),
                      Index("ix_case_tasks_closed_by", "closed_by", "state"),  # the 已办 view and its count
                      # The case-id sets of the jurisdiction scope (api/core/scope.py, migration 0020):
                      # each ends in case_id so that the set is read from the index alone.
                      Index("ix_case_tasks_jurisdiction_case", "jurisdiction", "case_id",
                            postgresql_ops={"jurisdiction": "text_pattern_ops"}),
                      Index("ix_case_tasks_role_jurisdiction", "role", "jurisdiction", "case_id",
                            postgresql_ops={"jurisdiction": "text_pattern_ops"}),
                      Index("ix_case_tasks_state_due", "state", "due_at", "case_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(400))
    lane: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    jurisdiction: Mapped[str] = mapped_column(String(400), default="")
    form_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    priority: Mapped[int] = mapped_column(default=50)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Claimed by / assigned to (转办) one person; ``owner`` keeps the delegator while delegated (委派).
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)


class PendingTimer(Base):
    __tablename__ = "pending_timers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the waiting task's id
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class MessageWait(Base):
    """A case waiting for a message, so delivery finds receivers without loading workflows."""

    __tablename__ = "message_waits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the waiting task's id
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    element_id: Mapped[str] = mapped_column(String(200))


class MessageReceipt(Base):
    """Delivered messages by the caller's idempotency key: a repeated push changes nothing."""

    __tablename__ = "message_receipts"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    case_ids: Mapped[list[Any]]
    received_at: Mapped[datetime]


class MessageOutbox(Base):
    """Messages thrown by a case, written with the sender's command and delivered after it (each
    delivery is its own command, idempotent by the outbox row), so no command spans two cases.

    ``state``: pending until settled, then delivered, or undeliverable (a dead letter: no case waits
    for it and none may start on it; ``outcome`` says why, and administrators list them)."""

    __tablename__ = "message_outbox"
    __table_args__ = (Index("ix_message_outbox_state", "state", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sender_case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    correlation: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    outcome: Mapped[str | None] = mapped_column(String(400), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")


class CaseCounter(Base):
    """Per-day sequence for human case numbers (一案一码)."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class CaseEvent(Base):
    """Append-only log of every external input and administrative action on a case.

    ``hash`` = sha256(prev_hash + canonical JSON of the event); the database refuses UPDATE and
    DELETE on this table (triggers in the migration).
    """

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WorkerHeartbeat(Base):
    """Each timer worker stamps its row every poll, so /healthz can tell whether timers fire."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime]
    fired: Mapped[int] = mapped_column(BigInteger, default=0)


class SlaRule(Base):
    """A named deadline (ISO-8601 duration, natural or working days), versioned by effective_from."""

    __tablename__ = "sla_rules"
    __table_args__ = (UniqueConstraint("key", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    duration: Mapped[str] = mapped_column(String(40))
    calendar: Mapped[str] = mapped_column(String(10), default="natural")
    basis: Mapped[str] = mapped_column(String(400), default="")
    effective_from: Mapped[datetime]


class CalendarDay(Base):
    """Exceptions to the Monday-to-Friday week: public holidays and make-up working days (调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    note: Mapped[str] = mapped_column(String(100), default="")


class Attachment(Base):
    """Evidence on a case (photos, scans, audio): the bytes live in the file store, named by sha256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]


class CaseField(Base):
    """Business fields of a case's data, indexed for search and reports (category, risk level,
    channel …, and the keyed hashes of the parties' identity numbers). One row per value."""

    __tablename__ = "case_fields"
    __table_args__ = (Index("ix_case_fields_lookup", "name", "value", "case_id"),  # case ids from the index alone
                      Index("ix_case_fields_case", "case_id", "name", "value"))  # a case's field of one name

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(200))

"""Notifications: an in-app list per user, and an outbound webhook for SMS/WeChat gateways.

A notification is a row per recipient (new task, urge, copy, overdue). When ``NOTIFY_WEBHOOK_URL``
is set, the timer worker posts undelivered rows to it as JSON and marks them sent; a failing
gateway is retried on the next round and never blocks the case that caused the notification.
Delivery is at least once (a crash between the gateway's answer and the mark sends the row again),
so every post carries ``Idempotency-Key: notification-<id>`` for the gateway to drop repeats.
"""
from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime
from typing import Iterable

from sqlalchemy import BigInteger, Connection, ForeignKey, Index, Integer, String, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import CHINA
from engine.db import Database
from engine.models import Base

log = logging.getLogger(__name__)

KINDS = ("new_task", "urge", "copy", "overdue", "delegated", "reassigned", "returned")


# Told once per task and person, however many workers run their rounds at once (a partial unique index).
ONCE_KINDS = ("new_task", "overdue")
_ONCE = text("kind IN ('new_task', 'overdue')")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("uq_notifications_once", "kind", "task_id", "username", unique=True,
                            sqlite_where=_ONCE, postgresql_where=_ONCE),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)


def notify(db: Database, usernames: Iterable[str], kind: str, message: str, at: datetime,
           case_id: int | None = None, task_id: str | None = None) -> int:
    with db.write_engine.begin() as conn:
        return write_notifications(conn, usernames, kind, message, at, case_id, task_id)


def telling(usernames: Iterable[str], kind: str, message: str, at: datetime, task_id: str | None = None):
    """Notifications to write in a task action's own transaction (``also``): told if and only if
    the action is stored, and no failure after its commit can turn its answer into an error."""
    recipients = sorted(set(usernames))

    def write(conn: Connection, case) -> None:
        write_notifications(conn, recipients, kind, message, at, case.id, task_id)
    return write


def write_notifications(conn: Connection, usernames: Iterable[str], kind: str, message: str, at: datetime,
                        case_id: int | None = None, task_id: str | None = None) -> int:
    rows = [{"username": u, "kind": kind, "message": message[:1000], "case_id": case_id, "task_id": task_id,
             "created_at": at} for u in sorted(set(usernames)) if u]
    if rows:
        statement = insert(Notification.__table__)
        if kind in ONCE_KINDS:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(Notification.__table__).on_conflict_do_nothing(
                index_elements=["kind", "task_id", "username"], index_where=_ONCE)
        conn.execute(statement, rows)
    return len(rows)


def send_pending(db: Database, url: str, at: datetime, limit: int = 100, timeout: float = 5.0) -> int:
    """Post unsent notifications to the gateway; returns how many it accepted."""
    with db.read() as session:
        pending = list(session.scalars(select(Notification).where(Notification.sent_at.is_(None))
                                       .order_by(Notification.id).limit(limit)))
    sent = []
    for item in pending:
        body = json.dumps({"id": item.id, "to": item.username, "kind": item.kind, "message": item.message,
                           "case_id": item.case_id, "task_id": item.task_id,
                           "created_at": item.created_at.isoformat()}, ensure_ascii=False).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                                  "Idempotency-Key": f"notification-{item.id}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    sent.append(item.id)
        except OSError as exc:
            log.warning("notification gateway refused %s: %s; will retry", item.id, exc)
            break
    if sent:
        with db.write_engine.begin() as conn:
            conn.execute(update(Notification.__table__).where(Notification.__table__.c.id.in_(sent)).values(sent_at=at))
    return len(sent)


def holders(db: Database, task) -> list[str]:
    """Who should hear about a task: its holder, else every active holder of its role over its area."""
    from .models import OrgUnit, User, UserRole

    if task.assignee:
        return [task.assignee]
    with db.read() as session:
        rows = session.execute(select(User.username, OrgUnit.path).join(OrgUnit, OrgUnit.id == User.unit_id)
                               .join(UserRole, UserRole.user_id == User.id)
                               .where(UserRole.role_code == task.role, User.active.is_(True))).all()
    return [username for username, path in rows if task.jurisdiction.startswith(path)]


def notify_new_tasks(db: Database, now: datetime) -> int:
    """Tell the people a new ready task is offered to (its holder, or its role's holders), once."""
    from engine.models import CaseTask

    table = Notification.__table__
    with db.read() as session:
        told = select(table.c.task_id).where(table.c.kind == "new_task", table.c.task_id.is_not(None))
        fresh = list(session.scalars(select(CaseTask).where(CaseTask.state == "ready", CaseTask.id.not_in(told))
                                     .order_by(CaseTask.created_at).limit(200)))
    for task in fresh:
        due = f"，办理时限 {task.due_at.astimezone(CHINA).strftime('%Y-%m-%d %H:%M')}" if task.due_at else ""
        notify(db, holders(db, task) or ["admin"], "new_task", f"新任务「{task.name}」{due}", now, task.case_id, task.id)
    return len(fresh)


def notify_overdue(db: Database, now: datetime) -> int:
    """Tell the holders of each newly overdue task, once."""
    from engine.models import CaseTask

    table = Notification.__table__
    with db.read() as session:
        told = select(table.c.task_id).where(table.c.kind == "overdue", table.c.task_id.is_not(None))
        late = list(session.scalars(select(CaseTask).where(CaseTask.state == "ready", CaseTask.due_at < now,
                                                           CaseTask.id.not_in(told)).limit(200)))
    for task in late:
        notify(db, holders(db, task) or ["admin"], "overdue", f"任务「{task.name}」已超期（时限 "
               f"{task.due_at.astimezone(CHINA).strftime('%Y-%m-%d %H:%M')}）", now, task.case_id, task.id)
    return len(late)


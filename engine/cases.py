"""Case commands: start, complete a task, deliver a message, fire timers, cancel, suspend, resume.

A command runs in two steps. First, without any lock, it reads the case, loads the workflow, acts,
runs the engine to its next wait and works out everything to write: the new state, the audit
events, the changes to the open-task, timer and message indexes (a ``store.Change``). Then it writes
all of that in one short transaction whose UPDATE of the case row checks the version it read: of
two commands racing on one case exactly one lands, the other gets Conflict, and a crash at any
point leaves the case as it was.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from uuid import UUID, uuid5

from jsonschema import Draft202012Validator
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from . import audit, clock, runtime, steps, store
from .db import Database
from .deadlines import Deadlines
from .definitions import task_properties
from .errors import Conflict, InvalidData, NotFound
from .models import Case, CaseTask, MessageOutbox, MessageReceipt, MessageWait, PendingTimer
from .registry import DefinitionRegistry, LoadedSpec
from .sandbox import SandboxError, timer_values
from .repairs import RepairCommands
from .task_actions import TaskActions
from .store import Change, NewEvent

log = logging.getLogger(__name__)

MAX_DATA_BYTES = 256 * 1024
OPEN_STATUSES = ("active", "waiting")
TIMER_LOCK = timedelta(seconds=30)
MAX_DISPATCH_DEPTH = 5
_dispatching = threading.local()


def due_from_properties(props: dict[str, str], now: datetime, deadlines: Deadlines | None = None) -> datetime | None:
    """A task's due time: its ``slaKey`` rule from the SLA table, else its ``dueIn`` ISO duration,
    counted from when it became ready."""
    if props.get("slaKey") and deadlines is not None:
        return deadlines.due(props["slaKey"], now)
    due_in = props.get("dueIn")
    if not due_in:
        return None
    try:
        return now + timer_values.duration_after(now, due_in)
    except SandboxError:
        log.warning("dueIn %r is not a duration within the bounds; the task gets no due time", due_in)
        return None  # deployed before deployment checked the bounds


@dataclass
class CaseView:
    case: Case
    tasks: list[CaseTask] = field(default_factory=list)
    definition_version: int | None = None


@dataclass
class _Snapshot:
    """A case as read at the start of a command, with its workflow and index rows."""

    case: Case
    loaded: LoadedSpec
    workflow: runtime.CaseWorkflow
    ready: dict[str, CaseTask]
    timers: dict[str, PendingTimer]
    waits: dict[str, MessageWait]


_case_table, _task_table = Case.__table__, CaseTask.__table__
_CASE_BY_ID = select(_case_table).where(_case_table.c.id == bindparam("case_id"))
_TASK_BY_ID = select(_task_table).where(_task_table.c.id == bindparam("task_id"))
_READY_TASKS = select(_task_table).where(_task_table.c.case_id == bindparam("case_id"), _task_table.c.state == "ready")


class CaseService(RepairCommands, TaskActions):
    def __init__(self, db: Database, registry: DefinitionRegistry, clock_: clock.Clock,
                 resolve_role: Callable[[str], str | None], deadlines: Deadlines | None = None,
                 case_prefix: str = "MC", seal: Callable[[dict], dict] | None = None,
                 indexed_fields: tuple[str, ...] = ()) -> None:
        self.db = db
        # Applied to every input after validation, before the engine and the audit log see it (the
        # app seals personal data with it).
        self.seal = seal or (lambda data: data)
        # Data fields copied to the case_fields index on every write, for search and reports.
        self.indexed_fields = indexed_fields
        self.deadlines = deadlines
        self.script_engine = runtime.script_engine(deadlines.functions() if deadlines else None)
        self.registry = registry
        self.clock = clock_
        self.resolve_role = resolve_role
        self.case_prefix = case_prefix

    # -- commands ----------------------------------------------------------------------------

    def start(self, process_key: str, data: dict[str, Any], actor: str, jurisdiction: str = "",
              title: str = "", message: str | None = None) -> CaseView:
        """Start a case on the latest version of a process; with ``message``, at the message start
        event of that name with ``data`` as the message's payload."""
        data = self.seal(_checked_data(data))
        now = self.clock.now()
        with self.db.read() as session:
            version = self.registry.latest(session, process_key)
            loaded = self.registry.load(session, version.id)
        case = Case(case_no="", process_key=process_key, definition_id=version.id, status="active",
                    jurisdiction=jurisdiction, title=title or str(data.get("title", ""))[:400], data={},
                    state="", incident=None, event_seq=0, chain_head="", created_by=actor, created_at=now,
                    updated_at=now, completed_at=None)
        with clock.pinned(now):
            workflow, incident = steps.begin(loaded, self.script_engine, data, message)
        snapshot = _Snapshot(case, loaded, workflow, {}, {}, {})
        started = {"process_key": process_key, "definition_id": version.id, "version": version.version,
                   "definition_sha256": version.sha256, "data": data, "jurisdiction": jurisdiction,
                   "title": case.title}
        if message:
            started["message"] = message
        change = self._change(snapshot, incident, now, actor, expected_version=None,
                              events=[NewEvent("case_started", actor, now, started)])
        return self._commit(change, snapshot)

    def complete_task(self, task_id: str, data: dict[str, Any], actor: str,
                      authorize: Callable[[CaseTask, Case], None] | None = None) -> CaseView:
        data = _checked_data(data)
        now = self.clock.now()
        with self.db.read() as session:
            found = session.connection().execute(_TASK_BY_ID, {"task_id": task_id}).first()
            if found is None:
                raise NotFound(f"task {task_id} does not exist")
            row = CaseTask(**found._mapping)
            snapshot = self._snapshot(session, row.case_id)
        if authorize is not None:
            authorize(row, snapshot.case)
        if row.state != "ready":
            raise Conflict(f"task '{row.name}' is no longer ready: it was {row.state}", task_state=row.state)
        if row.assignee and row.assignee != actor:
            raise Conflict(f"task '{row.name}' is held by {row.assignee}", assignee=row.assignee)
        _require_open(snapshot.case)
        workflow = snapshot.workflow
        task = runtime.find_task(workflow, UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict(f"task '{row.name}' is no longer ready")
        form_key, schema = snapshot.loaded.form_for(task.task_spec)
        _validate_form(schema, data)
        data = self.seal(data)
        event = NewEvent("task_completed", actor, now, {
            "task": runtime.spec_key(task), "task_id": task_id, "data": data, "form": form_key})
        with clock.pinned(now):
            incident = steps.complete(workflow, task, data)
        change = self._change(snapshot, incident, now, actor, events=[event], completed={task_id})
        return self._commit(change, snapshot)

    def deliver_message(self, name: str, correlation: dict[str, Any], payload: dict[str, Any],
                        idempotency_key: str, actor: str, within: str = "",
                        start_in: str | None = None) -> list[CaseView]:
        """Deliver to the one open case (under the ``within`` jurisdiction) waiting for ``name``;
        if none waits and a process starts on that message, start a case of it (in the payload's
        ``jurisdiction``, else ``start_in``, else ``within``). A repeated idempotency key returns
        the first answer and changes nothing."""
        payload = self.seal(_checked_data(payload))
        with self.db.read() as session:
            receipt = session.get(MessageReceipt, idempotency_key)
            if receipt is None:
                try:
                    case_id = self._receiver(session, name, correlation, within).id
                except NotFound:
                    starter = self._message_starter(session, name)
                    if starter is None:
                        raise
                    case_id = None
        if receipt is not None:
            return self._replayed_receipt(receipt, name, idempotency_key)
        if case_id is None:
            jurisdiction = start_in if start_in is not None else within
            return [self._start_for_message(starter, name, payload, actor, jurisdiction, idempotency_key)]
        try:
            return [self._deliver(case_id, name, correlation, payload, actor, idempotency_key)]
        except Conflict:
            with self.db.read() as session:
                receipt = session.get(MessageReceipt, idempotency_key)
            if receipt is None:
                raise
            return self._replayed_receipt(receipt, name, idempotency_key)

    def fire_due_timers(self, worker_id: str = "worker", limit: int = 50) -> int:
        """Fire every timer due by now; safe to run in several processes at once."""
        now = self.clock.now()
        case_ids = self._claim_timers(now, worker_id, limit)
        for case_id in case_ids:
            for _attempt in range(3):
                try:
                    self._fire_case_timers(case_id, now)
                    break
                except Conflict:
                    log.info("case %s changed while its timers fired; trying again", case_id)
        return len(case_ids)

    def dispatch_outbox(self, limit: int = 50) -> int:
        """Deliver messages thrown by cases to the cases waiting for them."""
        with self.db.read() as session:
            pending = list(session.scalars(select(MessageOutbox).where(MessageOutbox.settled_at.is_(None))
                                           .order_by(MessageOutbox.id).limit(limit)))
        for message in pending:
            self._dispatch(message)
        return len(pending)

    def cancel(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_cancelled", reason, "cancelled",
                                allowed=OPEN_STATUSES + ("incident", "suspended"))

    def suspend(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_suspended", reason, "suspended",
                                allowed=OPEN_STATUSES + ("incident",))

    def resume(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_resumed", reason, None, allowed=("suspended",))

    # -- reading -------------------------------------------------------------------------------

    def _snapshot(self, session: Session, case_id: int, read_index: bool = False) -> _Snapshot:
        """Read a case. The timer and message index rows always mirror the waits of the saved
        workflow (both are written in one transaction), so they are derived from it unless the
        caller needs the rows themselves (the timer worker, for its claims)."""
        # Core reads into plain (unattached) model objects: a command never uses the ORM session.
        conn = session.connection()
        row = conn.execute(_CASE_BY_ID, {"case_id": case_id}).first()
        if row is None:
            raise NotFound(f"case {case_id} does not exist")
        case = Case(**row._mapping)
        loaded = self.registry.load(session, case.definition_id)
        workflow = runtime.load(case.state, loaded.spec, loaded.subprocess_specs, self.script_engine)
        ready = {r.id: CaseTask(**r._mapping) for r in conn.execute(_READY_TASKS, {"case_id": case_id})}
        if read_index:
            timers = {t.id: t for t in session.scalars(select(PendingTimer).where(PendingTimer.case_id == case_id))}
            waits = {w.id: w for w in session.scalars(select(MessageWait).where(MessageWait.case_id == case_id))}
            session.expunge_all()
        else:
            timers, waits = _indexed_waits(workflow if case.status not in ("cancelled", "completed") else None)
        return _Snapshot(case, loaded, workflow, ready, timers, waits)

    # -- working out what to write -----------------------------------------------------------

    def _change(self, snapshot: _Snapshot, incident: dict | None, now: datetime, actor: str,
                events: list[NewEvent], expected_version: int | None | str = "read",
                completed: set[str] | frozenset[str] = frozenset(), status: str | None = None) -> Change:
        case, workflow = snapshot.case, snapshot.workflow
        old_fields = index_values(case.data or {}, self.indexed_fields)
        change = Change(case=case, expected_version=case.version if expected_version == "read" else expected_version,
                        events=list(events), actor=actor, at=now)
        for event in workflow.get_events():
            change.outbox.append(_outbox_row(event, now))
            change.events.append(NewEvent("message_sent", actor, now, {
                "name": change.outbox[-1]["name"], "correlation": change.outbox[-1]["correlation"],
                "payload": change.outbox[-1]["payload"]}))
        runtime.prune(workflow)
        case.state = runtime.dump(workflow)
        case.data = audit.jsonable(runtime.case_data(workflow))
        case.incident = incident
        case.status = status or steps.status(workflow, incident, case.status)
        case.updated_at = now
        if case.status == "completed" and case.completed_at is None:
            case.completed_at = now
        closed = case.status in ("cancelled", "completed")
        self._diff_tasks(change, snapshot, {} if case.status == "cancelled" else
                         {str(t.id): t for t in runtime.ready_user_tasks(workflow)}, now, set(completed))
        self._diff_waits(change, snapshot, None if closed else workflow)
        new_fields = index_values(case.data, self.indexed_fields)
        if new_fields != old_fields or expected_version is None:
            change.fields = sorted(new_fields)
        return change

    def _diff_tasks(self, change: Change, snapshot: _Snapshot, ready: dict, now: datetime, completed: set[str]) -> None:
        for task_id in snapshot.ready:
            if task_id not in ready:
                change.closed_tasks[task_id] = "completed" if task_id in completed else "cancelled"
        for task_id, task in ready.items():
            if task_id in snapshot.ready:
                continue
            spec = task.task_spec
            props = task_properties(spec)
            form_key, _ = snapshot.loaded.form_for(spec)
            change.new_tasks.append({
                "id": task_id, "state": "ready", "element_id": spec.bpmn_id or spec.name,
                "name": spec.bpmn_name or spec.bpmn_id or spec.name, "lane": spec.lane,
                "role": self.resolve_role(spec.lane) if spec.lane else None,
                "jurisdiction": _task_unit(task, props) or change.case.jurisdiction, "form_key": form_key, "due_at": due_from_properties(props, now, self.deadlines),
                "priority": _priority(props), "created_at": now})

    @staticmethod
    def _diff_waits(change: Change, snapshot: _Snapshot, workflow) -> None:
        timers, messages = _indexed_waits(workflow)
        for timer_id, row in snapshot.timers.items():
            if timer_id not in timers or row.due_at != timers[timer_id].due_at or row.locked_until is not None:
                change.dropped_timers.append(timer_id)
        kept = set(snapshot.timers) - set(change.dropped_timers)
        for timer_id, timer in timers.items():
            if timer_id not in kept:
                change.new_timers.append({"id": timer_id, "element_id": timer.element_id, "due_at": timer.due_at})
        for wait_id in snapshot.waits:
            if wait_id not in messages:
                change.dropped_waits.append(wait_id)
        for wait_id, wait in messages.items():
            if wait_id not in snapshot.waits:
                change.new_waits.append({"id": wait_id, "name": wait.name, "element_id": wait.element_id})

    # -- writing -------------------------------------------------------------------------------

    def _commit(self, change: Change, snapshot: _Snapshot) -> CaseView:
        with self.db.write_engine.begin() as conn:
            store.write(conn, change, self.case_prefix)
        if change.outbox and getattr(_dispatching, "depth", 0) < MAX_DISPATCH_DEPTH:
            # Deliver right away, unless this is already a chain of messages several cases deep (two
            # processes answering each other): the worker then carries on, round by round.
            _dispatching.depth = getattr(_dispatching, "depth", 0) + 1
            try:
                self.dispatch_outbox()
            finally:
                _dispatching.depth -= 1
        return self._view(change, snapshot)

    def _view(self, change: Change, snapshot: _Snapshot) -> CaseView:
        tasks = [t for task_id, t in snapshot.ready.items() if task_id not in change.closed_tasks]
        for row in change.new_tasks:
            tasks.append(CaseTask(case_id=change.case.id, closed_at=None, closed_by=None, **row))
        tasks.sort(key=lambda t: (t.created_at, t.id))
        return CaseView(change.case, tasks, snapshot.loaded.version)

    def view(self, case_id: int) -> CaseView:
        with self.db.read() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                         .order_by(CaseTask.created_at, CaseTask.id)))
            return CaseView(case, tasks, self.registry.load(session, case.definition_id).version)

    # -- messages ------------------------------------------------------------------------------

    def _receiver(self, session: Session, name: str, correlation: dict[str, Any], within: str = "") -> Case:
        query = (select(Case).join(MessageWait, MessageWait.case_id == Case.id)
                 .where(MessageWait.name == name, Case.status.in_(OPEN_STATUSES)).distinct())
        if within:
            query = query.where(Case.jurisdiction.startswith(within, autoescape=True))
        if "case_no" in correlation:
            query = query.where(Case.case_no == str(correlation["case_no"]))
        matches = [case for case in session.scalars(query) if _correlates(case, correlation)]
        if not matches:
            raise NotFound(f"no open case is waiting for message '{name}' with correlation "
                           f"{json.dumps(correlation, ensure_ascii=False)}")
        if len(matches) > 1:
            raise Conflict(f"{len(matches)} cases wait for message '{name}' with this correlation; "
                           "give a correlation that names one case (e.g. case_no)")
        return matches[0]

    def _deliver(self, case_id: int, name: str, correlation: dict[str, Any], payload: dict[str, Any],
                 actor: str, idempotency_key: str) -> CaseView:
        now = self.clock.now()
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id)
        _require_open(snapshot.case)
        waiting = runtime.waiting_for(snapshot.workflow, name)
        if not waiting:
            raise Conflict(f"case {snapshot.case.case_no} is no longer waiting for message '{name}'")
        event = NewEvent("message_delivered", actor, now, {"name": name, "correlation": correlation,
                                                           "payload": payload})
        with clock.pinned(now):
            incident = steps.deliver(snapshot.workflow, waiting[0], name, payload)
        change = self._change(snapshot, incident, now, actor, events=[event])
        change.receipt = {"idempotency_key": idempotency_key, "name": name, "received_at": now}
        return self._commit(change, snapshot)

    def _message_starter(self, session: Session, name: str) -> str | None:
        """The one deployed process with a message start event for ``name``, if any."""
        keys = [v.process_key for v in self.registry.latest_versions(session)
                if name in runtime.message_start_names(self.registry.load(session, v.id).spec)]
        if len(keys) > 1:
            raise Conflict(f"several processes start on message '{name}': {', '.join(keys)}")
        return keys[0] if keys else None

    def _start_for_message(self, process_key: str, name: str, payload: dict[str, Any], actor: str,
                           jurisdiction: str, receipt_key: str) -> CaseView:
        jurisdiction = str(payload.get("jurisdiction") or jurisdiction)
        view = self.start(process_key, payload, actor, jurisdiction, message=name)
        with self.db.write_engine.begin() as conn:
            conn.execute(insert(MessageReceipt.__table__), [{"idempotency_key": receipt_key, "name": name,
                                                             "case_ids": [view.case.id], "received_at": view.case.created_at}])
        return view

    def _replayed_receipt(self, receipt: MessageReceipt, name: str, key: str) -> list[CaseView]:
        if receipt.name != name:
            raise Conflict(f"idempotency key '{key}' was already used for message '{receipt.name}'")
        return [self.view(case_id) for case_id in receipt.case_ids]

    def _dispatch(self, message: MessageOutbox) -> None:
        key = f"outbox:{message.id}"
        try:
            with self.db.read() as session:
                sender = session.get(Case, message.sender_case_id)
            views = self.deliver_message(message.name, message.correlation, message.payload, key,
                                         f"case:{sender.case_no}", start_in=sender.jurisdiction)
            outcome = f"delivered to {', '.join(v.case.case_no for v in views)}"
        except (NotFound, Conflict) as exc:
            outcome = exc.message[:400]
        with self.db.write_engine.begin() as conn:
            conn.execute(update(MessageOutbox).where(MessageOutbox.id == message.id, MessageOutbox.settled_at.is_(None))
                         .values(settled_at=self.clock.now(), outcome=outcome))

    # -- timers --------------------------------------------------------------------------------

    def _claim_timers(self, now: datetime, worker_id: str, limit: int) -> list[int]:
        with self.db.write() as session, session.begin():
            due = (select(PendingTimer.id, PendingTimer.case_id).join(Case, Case.id == PendingTimer.case_id)
                   .where(PendingTimer.due_at < now, Case.status.in_(OPEN_STATUSES),
                          (PendingTimer.locked_until.is_(None)) | (PendingTimer.locked_until < now))
                   .order_by(PendingTimer.due_at).limit(limit))
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=PendingTimer)
            rows = session.execute(due).all()
            if not rows:
                return []
            session.execute(update(PendingTimer).where(PendingTimer.id.in_([r.id for r in rows]))
                            .values(locked_until=now + TIMER_LOCK, locked_by=worker_id))
            return sorted({r.case_id for r in rows})

    def _fire_case_timers(self, case_id: int, now: datetime) -> None:
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id, read_index=True)
        if snapshot.case.status not in OPEN_STATUSES:
            return
        workflow = snapshot.workflow
        with clock.pinned(now):
            fired, incident = steps.fire_timers(workflow)
        events = [NewEvent("timer_fired", "timer", now, {"timers": [runtime.spec_key(t) for t in fired]})] if fired else []
        # Rewriting every timer row of the case also releases this worker's claims.
        self._commit(self._change(snapshot, incident, now, "timer", events=events), snapshot)

    # -- status changes ------------------------------------------------------------------------

    def _set_status(self, case_id: int, actor: str, event_type: str, reason: str, status: str | None,
                    allowed: tuple[str, ...]) -> CaseView:
        if not reason or not reason.strip():
            raise InvalidData("a reason is required", {"reason": "required"})
        now = self.clock.now()
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id)
        case = snapshot.case
        if case.status not in allowed:
            raise Conflict(f"case {case.case_no} is {case.status}; it cannot be {event_type.split('_')[1]}")
        if status is None:  # resume: back to what the workflow says
            case.status = "active"
        event = NewEvent(event_type, actor, now, {"reason": reason.strip()})
        change = self._change(snapshot, case.incident, now, actor, events=[event], status=status)
        return self._commit(change, snapshot)


# -- helpers -------------------------------------------------------------------------------------

def _indexed_waits(workflow) -> tuple[dict[str, PendingTimer], dict[str, MessageWait]]:
    """The timer and message index rows that a workflow's waits call for (unsaved)."""
    timers, messages = {}, {}
    for task in runtime.waiting_tasks(workflow) if workflow is not None else ():
        element_id = task.task_spec.bpmn_id or ""
        due = runtime.timer_due(task)
        if due is not None:
            timers[str(task.id)] = PendingTimer(id=str(task.id), element_id=element_id,
                                                due_at=clock.parse_instant(due), locked_until=None)
        for name in runtime.message_names(task):
            # One row per message a task waits for (an event-based gateway may wait for several).
            wait_id = str(task.id) if len(runtime.message_names(task)) == 1 else str(uuid5(task.id, name))
            messages[wait_id] = MessageWait(id=wait_id, name=name, element_id=element_id)
    for name, element_id in runtime.message_triggers(workflow) if workflow is not None else ():
        wait_id = str(uuid5(workflow.task_tree.id, name))
        messages[wait_id] = MessageWait(id=wait_id, name=name, element_id=element_id)
    return timers, messages


def _task_unit(task, props: dict[str, str]) -> str | None:
    """The org unit a task is sent to, when its ``unitVariable`` property names a data variable
    holding a unit path (a department): the task is then offered there, not in the case's area."""
    variable = props.get("unitVariable")
    value = task.data.get(variable) if variable else None
    return value if isinstance(value, str) and value.startswith("/") and value.endswith("/") else None


def index_values(data: dict[str, Any], names: tuple[str, ...]) -> set[tuple[str, str]]:
    """(name, value) pairs of the indexed fields, and ``party_hash`` for every sealed identity."""
    pairs = set()
    for name in names:
        value = data.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, int, float, bool)) and str(item) != "":
                pairs.add((name, str(item)[:200]))
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("$pii") == "id_no" and isinstance(item.get("hash"), str):
                pairs.add(("party_hash", item["hash"]))
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return pairs


def _outbox_row(event, now: datetime) -> dict[str, Any]:
    payload = audit.jsonable(event.payload or {})
    if not isinstance(payload, dict):
        payload = {"value": payload}
    correlation = {k: v for values in event.correlations.values() for k, v in values.items()}
    if "case_no" not in correlation and isinstance(payload.get("target_case_no"), str):
        correlation["case_no"] = payload["target_case_no"]
    return {"name": event.event_definition.name, "correlation": audit.jsonable(correlation), "payload": payload,
            "created_at": now}


def _require_open(case: Case) -> None:
    if case.status not in OPEN_STATUSES:
        raise Conflict(f"case {case.case_no} is {case.status}; its tasks cannot be completed now",
                       case_status=case.status)


def _correlates(case: Case, correlation: dict[str, Any]) -> bool:
    known = dict(case.data or {})
    known.update({"case_no": case.case_no, "case_id": case.id})
    return all(known.get(key) == value or str(known.get(key)) == str(value) for key, value in correlation.items())


def _checked_data(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object")
    bad = [key for key in data if not isinstance(key, str) or key.startswith("_")]
    if bad:
        raise InvalidData("field names may not start with an underscore",
                          {str(key): "field names may not start with an underscore" for key in bad})
    try:
        size = len(json.dumps(data, ensure_ascii=False, default=str))
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"data is not plain JSON: {exc}") from None
    if size > MAX_DATA_BYTES:
        raise InvalidData(f"data is larger than {MAX_DATA_BYTES // 1024} KB")
    return data


def _validate_form(schema: dict | None, data: dict[str, Any]) -> None:
    if schema is None:
        return
    validator = Draft202012Validator(schema)
    errors = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = ".".join(filter(None, [path, missing]))
        errors.setdefault(path or "$", _form_message(error, schema))
    if errors:
        raise InvalidData("the form has errors", errors)


def _form_message(error, schema: dict) -> str:
    custom = schema.get("errorMessages", {})
    if isinstance(custom, dict) and error.validator in custom:
        return str(custom[error.validator])
    return error.message


def _priority(props: dict[str, str]) -> int:
    try:
        return max(0, min(100, int(props.get("priority", 50))))
    except ValueError:
        return 50

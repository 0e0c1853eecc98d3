"""Case commands: start, complete a task, deliver a message, fire timers, cancel, suspend, resume.

Each command is one database transaction that loads the workflow, acts, runs the engine to its
next wait, prunes the tree, and writes the new state, the open-task/timer/message indexes and
the audit events together. A stale version raises Conflict and writes nothing; a crash mid-command
rolls everything back.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable
from uuid import UUID

from jsonschema import Draft202012Validator
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import audit, clock, runtime
from .db import Database
from .definitions import task_properties
from .errors import Conflict, InvalidData, NotFound
from .models import Case, CaseCounter, CaseTask, MessageReceipt, MessageWait, PendingTimer
from .registry import DefinitionRegistry, LoadedSpec
from .sandbox import SandboxError

log = logging.getLogger(__name__)

MAX_DATA_BYTES = 256 * 1024
OPEN_STATUSES = ("active", "waiting")
DueCalculator = Callable[[dict[str, str], datetime], "datetime | None"]


def due_from_properties(props: dict[str, str], now: datetime) -> datetime | None:
    """Default deadline rule: a task's ``dueIn`` ISO duration from when it became ready."""
    due_in = props.get("dueIn")
    if not due_in:
        return None
    parsed = TimerEventDefinition.parse_iso_duration(due_in)
    return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)


@dataclass
class CaseView:
    case: Case
    tasks: list[CaseTask] = field(default_factory=list)


class CaseService:
    def __init__(self, db: Database, registry: DefinitionRegistry, clock_: clock.Clock,
                 resolve_role: Callable[[str], str | None], due_at: DueCalculator = due_from_properties,
                 case_prefix: str = "MC") -> None:
        self.db = db
        self.registry = registry
        self.clock = clock_
        self.resolve_role = resolve_role
        self.due_at = due_at
        self.case_prefix = case_prefix

    # -- commands ----------------------------------------------------------------------------

    def start(self, process_key: str, data: dict[str, Any], actor: str, jurisdiction: str = "",
              title: str = "") -> CaseView:
        data = _checked_data(data)
        now = self.clock.now()
        with self._command() as session:
            version = self.registry.latest(session, process_key)
            loaded = self.registry.load(session, version.id)
            case = Case(case_no=self._next_case_no(session, now), process_key=process_key, version=1,
                        definition_id=version.id, status="active", jurisdiction=jurisdiction,
                        title=title or str(data.get("title", ""))[:400], data={}, state="",
                        created_by=actor, created_at=now, updated_at=now)
            session.add(case)
            session.flush()
            audit.append(session, case, "case_started", actor, now, {
                "process_key": process_key, "definition_id": version.id, "version": version.version,
                "definition_sha256": version.sha256, "data": data, "jurisdiction": jurisdiction,
                "title": case.title, "case_no": case.case_no})
            with clock.pinned(now):
                workflow = runtime.new_workflow(loaded.spec, loaded.subprocess_specs)
                workflow.task_tree.data.update(data)
                incident = _advance(workflow)
            self._save(session, case, workflow, loaded, incident, now, actor, new=True)
            return self._view(session, case)

    def complete_task(self, task_id: str, data: dict[str, Any], actor: str,
                      authorize: Callable[[CaseTask, Case], None] | None = None) -> CaseView:
        data = _checked_data(data)
        now = self.clock.now()
        with self._command() as session:
            row = session.get(CaseTask, task_id)
            if row is None:
                raise NotFound(f"task {task_id} does not exist")
            case = _lock_case(session, row.case_id)
            session.refresh(row)  # what the writer before us left, now that we hold the case
            if authorize is not None:
                authorize(row, case)
            if row.state != "ready":
                raise Conflict(f"task '{row.name}' is no longer ready: it was {row.state}", task_state=row.state)
            _require_open(case)
            loaded = self.registry.load(session, case.definition_id)
            workflow = runtime.load(case.state, loaded.spec, loaded.subprocess_specs)
            task = workflow.tasks.get(UUID(task_id)) or _find_in_subprocesses(workflow, UUID(task_id))
            if task is None or task.state != TaskState.READY or not task.task_spec.manual:
                raise Conflict(f"task '{row.name}' is no longer ready")
            form_key, schema = loaded.form_for(task.task_spec)
            _validate_form(schema, data)
            audit.append(session, case, "task_completed", actor, now, {
                "task": runtime.spec_key(task), "task_id": task_id, "data": data, "form": form_key})
            with clock.pinned(now):
                task.data.update(data)
                task.run()
                incident = _advance(workflow)
            self._save(session, case, workflow, loaded, incident, now, actor, completed={task_id})
            return self._view(session, case)

    def deliver_message(self, name: str, correlation: dict[str, Any], payload: dict[str, Any],
                        idempotency_key: str, actor: str, within: str = "") -> list[CaseView]:
        """Deliver to the one open case (under the ``within`` jurisdiction) waiting for ``name``."""
        payload = _checked_data(payload)
        now = self.clock.now()
        with self._command() as session:
            receipt = session.get(MessageReceipt, idempotency_key)
            if receipt is not None:
                if receipt.name != name:
                    raise Conflict(f"idempotency key '{idempotency_key}' was already used for message "
                                   f"'{receipt.name}'")
                return [self._view(session, session.get(Case, i)) for i in receipt.case_ids]
            case = _lock_case(session, self._receiver(session, name, correlation, within).id)
            self._deliver(session, case, name, correlation, payload, actor, now)
            session.add(MessageReceipt(idempotency_key=idempotency_key, name=name, case_ids=[case.id],
                                       received_at=now))
            return [self._view(session, case)]

    def fire_due_timers(self, worker_id: str = "worker", limit: int = 50) -> int:
        """Fire every timer due by now; safe to run in several processes at once."""
        now = self.clock.now()
        case_ids = self._claim_timers(now, worker_id, limit)
        for case_id in case_ids:
            try:
                self._fire_case_timers(case_id, now)
            except Conflict:
                log.info("timers of case %s changed while firing; they will be retried", case_id)
        return len(case_ids)

    def cancel(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_cancelled", reason, "cancelled", allowed=OPEN_STATUSES + (
            "incident", "suspended"))

    def suspend(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_suspended", reason, "suspended",
                                allowed=OPEN_STATUSES + ("incident",))

    def resume(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_resumed", reason, None, allowed=("suspended",))

    # -- command plumbing --------------------------------------------------------------------

    def _command(self):
        return _Command(self.db)

    def _save(self, session: Session, case: Case, workflow, loaded: LoadedSpec, incident: dict | None,
              now: datetime, actor: str, completed: Iterable[str] = (), new: bool = False) -> None:
        if not new:
            case.version += 1
        for event in workflow.get_events():
            self._route_thrown(session, case, event, now)
        runtime.prune(workflow)
        case.state = runtime.dump(workflow)
        case.data = audit.jsonable(runtime.case_data(workflow))
        case.incident = incident
        case.status = _status(workflow, incident, case.status)
        case.updated_at = now
        if case.status == "completed" and case.completed_at is None:
            case.completed_at = now
        ready = {str(t.id): t for t in runtime.ready_user_tasks(workflow)} if case.status != "cancelled" else {}
        self._sync_tasks(session, case, loaded, ready, now, actor, set(completed))
        self._sync_waits(session, case, workflow if case.status not in ("cancelled", "completed") else None)
        try:
            session.flush()
        except StaleDataError:
            raise Conflict("the case was changed by someone else at the same time; reload and try again") from None

    def _sync_tasks(self, session: Session, case: Case, loaded: LoadedSpec, ready: dict, now: datetime,
                    actor: str, completed: set[str]) -> None:
        existing = {row.id: row for row in session.scalars(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == "ready"))}
        for task_id, row in existing.items():
            if task_id not in ready:
                row.state = "completed" if task_id in completed else "cancelled"
                row.closed_at, row.closed_by = now, actor
        for task_id, task in ready.items():
            if task_id in existing:
                existing[task_id].jurisdiction = case.jurisdiction
                continue
            spec = task.task_spec
            props = task_properties(spec)
            form_key, _ = loaded.form_for(spec)
            session.add(CaseTask(
                id=task_id, case_id=case.id, state="ready", element_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name, lane=spec.lane,
                role=self.resolve_role(spec.lane) if spec.lane else None, jurisdiction=case.jurisdiction,
                form_key=form_key, due_at=self.due_at(props, now), priority=_priority(props), created_at=now))

    def _sync_waits(self, session: Session, case: Case, workflow) -> None:
        timers, messages = {}, {}
        for task in runtime.waiting_tasks(workflow) if workflow is not None else ():
            due = runtime.timer_due(task)
            if due is not None:
                timers[str(task.id)] = (task, clock.parse_instant(due))
            name = runtime.message_name(task)
            if name is not None:
                messages[str(task.id)] = (task, name)
        old_timers = {t.id: t for t in session.scalars(select(PendingTimer).where(PendingTimer.case_id == case.id))}
        for timer_id, row in old_timers.items():
            if timer_id not in timers or row.due_at != timers[timer_id][1]:
                session.delete(row)
        for timer_id, (task, due) in timers.items():
            if timer_id not in old_timers or old_timers[timer_id].due_at != due:
                session.add(PendingTimer(id=timer_id, case_id=case.id, element_id=task.task_spec.bpmn_id or "",
                                         due_at=due))
        old_waits = {w.id: w for w in session.scalars(select(MessageWait).where(MessageWait.case_id == case.id))}
        for wait_id, row in old_waits.items():
            if wait_id not in messages:
                session.delete(row)
        for wait_id, (task, name) in messages.items():
            if wait_id not in old_waits:
                session.add(MessageWait(id=wait_id, case_id=case.id, name=name,
                                        element_id=task.task_spec.bpmn_id or ""))
        session.flush()

    def _view(self, session: Session, case: Case) -> CaseView:
        tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == "ready")
                                     .order_by(CaseTask.created_at, CaseTask.id)))
        return CaseView(case, tasks)

    def _next_case_no(self, session: Session, now: datetime) -> str:
        day = now.strftime("%Y%m%d")
        insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(CaseCounter)
        number = session.execute(
            insert.values(day=day, last=1)
            .on_conflict_do_update(index_elements=["day"], set_={"last": CaseCounter.last + 1})
            .returning(CaseCounter.last)).scalar_one()
        return f"{self.case_prefix}-{day}-{number:04d}"

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

    def _deliver(self, session: Session, case: Case, name: str, correlation: dict[str, Any],
                 payload: dict[str, Any], actor: str, now: datetime) -> None:
        loaded = self.registry.load(session, case.definition_id)
        workflow = runtime.load(case.state, loaded.spec, loaded.subprocess_specs)
        waiting = [t for t in runtime.waiting_tasks(workflow) if runtime.message_name(t) == name]
        if not waiting:
            raise Conflict(f"case {case.case_no} is no longer waiting for message '{name}'")
        audit.append(session, case, "message_delivered", actor, now,
                     {"name": name, "correlation": correlation, "payload": payload})
        with clock.pinned(now):
            incident = _catch_message(workflow, waiting[0], payload)
            incident = incident or _advance(workflow)
        self._save(session, case, workflow, loaded, incident, now, actor)

    def _route_thrown(self, session: Session, sender: Case, event, now: datetime) -> None:
        """A message thrown by one case goes to the case waiting for it, matched by case number
        or by the payload's correlation values; unmatched messages are recorded on the sender."""
        name = event.event_definition.name
        payload = audit.jsonable(event.payload or {})
        correlation = {k: v for values in event.correlations.values() for k, v in values.items()}
        if "case_no" not in correlation and isinstance(payload.get("target_case_no"), str):
            correlation["case_no"] = payload["target_case_no"]
        audit.append(session, sender, "message_sent", "engine", now,
                     {"name": name, "correlation": correlation, "payload": payload})
        try:
            receiver = self._receiver(session, name, correlation)
        except (NotFound, Conflict) as exc:
            log.info("message %s from %s not routed: %s", name, sender.case_no, exc.message)
            return
        if receiver.id != sender.id:
            self._deliver(session, receiver, name, correlation, payload, f"case:{sender.case_no}", now)

    # -- timers --------------------------------------------------------------------------------

    def _claim_timers(self, now: datetime, worker_id: str, limit: int) -> list[int]:
        with self._command() as session:
            due = (select(PendingTimer.id).join(Case, Case.id == PendingTimer.case_id)
                   .where(PendingTimer.due_at < now, Case.status.in_(OPEN_STATUSES),
                          (PendingTimer.locked_until.is_(None)) | (PendingTimer.locked_until < now))
                   .order_by(PendingTimer.due_at).limit(limit))
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True, of=PendingTimer)
            ids = list(session.scalars(due))
            if not ids:
                return []
            session.execute(update(PendingTimer).where(PendingTimer.id.in_(ids))
                            .values(locked_until=now + timedelta(seconds=60), locked_by=worker_id))
            case_ids = session.scalars(select(PendingTimer.case_id).where(PendingTimer.id.in_(ids)).distinct())
            return sorted(set(case_ids))

    def _fire_case_timers(self, case_id: int, now: datetime) -> None:
        with self._command() as session:
            case = _lock_case(session, case_id)
            if case is None or case.status not in OPEN_STATUSES:
                return
            loaded = self.registry.load(session, case.definition_id)
            workflow = runtime.load(case.state, loaded.spec, loaded.subprocess_specs)
            with clock.pinned(now):
                before = {t.id: t for t in runtime.waiting_tasks(workflow) if runtime.timer_due(t)}
                workflow.refresh_timers()
                fired = [t for t in before.values() if t.state != TaskState.WAITING]
                incident = _advance(workflow)
            if fired:
                audit.append(session, case, "timer_fired", "timer", now,
                             {"timers": [runtime.spec_key(t) for t in fired]})
            self._save(session, case, workflow, loaded, incident, now, "timer")

    # -- status changes ------------------------------------------------------------------------

    def _set_status(self, case_id: int, actor: str, event_type: str, reason: str, status: str | None,
                    allowed: tuple[str, ...]) -> CaseView:
        if not reason or not reason.strip():
            raise InvalidData("a reason is required", {"reason": "required"})
        now = self.clock.now()
        with self._command() as session:
            case = _lock_case(session, case_id)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            if case.status not in allowed:
                raise Conflict(f"case {case.case_no} is {case.status}; it cannot be {event_type.split('_')[1]}")
            audit.append(session, case, event_type, actor, now, {"reason": reason.strip()})
            loaded = self.registry.load(session, case.definition_id)
            workflow = runtime.load(case.state, loaded.spec, loaded.subprocess_specs)
            if status is not None:
                case.status = status
            elif case.status == "suspended":
                case.status = "active"
            self._save(session, case, workflow, loaded, case.incident, now, actor)
            return self._view(session, case)


class _Command:
    """One write transaction; ORM concurrency errors come out as Conflict."""

    def __init__(self, db: Database) -> None:
        self.session = db.write()

    def __enter__(self) -> Session:
        self.session.begin()
        return self.session

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        except StaleDataError:
            exc_type = StaleDataError
        finally:
            self.session.close()
        if exc_type is StaleDataError:
            raise Conflict("the case was changed by someone else at the same time; reload and try again") from None


# -- helpers -------------------------------------------------------------------------------------

def _lock_case(session: Session, case_id: int) -> Case | None:
    """Writers of one case queue here (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers), so each sees what the one before it committed."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    return case


def _find_in_subprocesses(workflow, task_id: UUID):
    for sub in workflow.subprocesses.values():
        if task_id in sub.tasks:
            return sub.tasks[task_id]
    return None


def _advance(workflow) -> dict[str, Any] | None:
    """Run the engine to its next wait; a failing script becomes an incident, not a crash."""
    try:
        runtime.run_engine(workflow)
    except (SpiffWorkflowException, SandboxError) as exc:
        return _incident(exc)
    return None


def _catch_message(workflow, task, payload: dict[str, Any]) -> dict[str, Any] | None:
    definition = task.task_spec.event_definition
    try:
        correlations = definition.calculate_correlations(
            workflow.script_engine, definition.correlation_properties, payload)
        if getattr(definition, "message_var", None) is None:
            # Without a messageVariable the payload's fields join the case data.
            task.data.update(payload)
        workflow.send_event(BpmnEvent(definition, payload, correlations))
    except (SpiffWorkflowException, SandboxError) as exc:
        return _incident(exc)
    return None


def _incident(exc: Exception) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
    cause = exc
    while cause is not None and not isinstance(cause, SandboxError):
        cause = cause.__cause__ or cause.__context__
    message = cause.message if isinstance(cause, SandboxError) else str(exc)
    return {"element_id": getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
            "message": message, "kind": cause.kind if isinstance(cause, SandboxError) else "error"}


def _status(workflow, incident: dict | None, current: str) -> str:
    if current in ("cancelled", "suspended"):
        return current
    if incident:
        return "incident"
    if workflow.is_completed():
        return "completed"
    return "active" if runtime.ready_user_tasks(workflow) else "waiting"


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

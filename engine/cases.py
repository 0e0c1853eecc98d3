"""Case commands: start, complete a task, deliver a message, fire timers, cancel, suspend, resume.

A command runs in two steps. First, without any lock, it reads the case, loads the workflow, acts,
runs the engine to its next wait and works out everything to write: the new state, the audit
events, the changes to the open-task, timer and message indexes (a ``store.Change``). Then it writes
all of that in one short transaction whose UPDATE of the case row checks the version it read: of
two commands racing on one case exactly one lands, the other gets Conflict, and a crash at any
point leaves the case as it was. Messages live in ``messages.py``, timers in ``timers.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, NamedTuple
from uuid import UUID, uuid5

from jsonschema import Draft202012Validator
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import assignment, audit, clock, runtime, steps, store
from .db import Database
from .deadlines import Deadlines
from .definitions import task_properties
from .errors import Conflict, InvalidData, NotFound
from .messages import MessageCommands
from .models import Case, CaseTask, DefinitionVersion, MessageWait, PendingTimer
from .registry import DefinitionRegistry, LoadedSpec
from .sandbox import SandboxError, timer_values
from .repairs import RepairCommands
from .steps import OPEN_STATUSES, checked_data
from .task_actions import TaskActions
from .timers import TimerCommands
from .store import Change, NewEvent
from .workflow_cache import WorkflowCache

log = logging.getLogger(__name__)


def due_from_properties(props: dict[str, str], now: datetime, deadlines: Deadlines | None = None,
                        data: dict[str, Any] | None = None) -> datetime | None:
    """A task's due time: the instant in its ``dueVariable`` data variable (a deadline the process
    computed, e.g. from the urgency), else its ``slaKey`` rule from the SLA table, else its ``dueIn``
    ISO duration, counted from when it became ready."""
    variable = props.get("dueVariable")
    if variable and data is not None and data.get(variable):
        try:
            return clock.parse_instant(str(data[variable]))
        except ValueError:
            log.warning("dueVariable %r holds %r, not an instant; falling back", variable, data[variable])
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
    # The case's pending timers as its last command left them (None: not read, as in ``view``), so
    # a caller that waits for the next deadline needs no query of its own.
    timers: list[PendingTimer] | None = None


@dataclass
class _Snapshot:
    """A case as read at the start of a command, with its workflow and index rows."""

    case: Case
    loaded: LoadedSpec
    workflow: runtime.CaseWorkflow
    ready: dict[str, CaseTask]
    timers: dict[str, PendingTimer]
    waits: dict[str, MessageWait]
    newest_definition: int | None = None  # the newest definition version id when the case was read
    # The indexed (name, value) pairs of ``case.data``, when known without deriving them again
    # (a kept workflow's, from the command that wrote them).
    fields: set[tuple[str, str]] | None = None
    # What the command leaves, for the workflow cache: the index rows its workflow's waits call
    # for and its data's indexed pairs (set by ``_change``).
    left: Derived | None = None


class Derived(NamedTuple):
    """What a committed workflow's index rows and data fields are, derived once by the command that
    wrote them and kept with the workflow (``workflow_cache``) for the next command on the case."""
    timers: dict[str, PendingTimer]
    waits: dict[str, MessageWait]
    fields: set[tuple[str, str]]


_case_table, _task_table = Case.__table__, CaseTask.__table__
# With the case, the newest definition version id: in the same statement, so the app's sealing can
# tell without a query of its own whether a form deployed since declared new personal fields.
_NEWEST_DEFINITION = select(func.max(DefinitionVersion.id)).scalar_subquery().label("newest_definition")
_CASE_BY_ID = select(_case_table, _NEWEST_DEFINITION).where(_case_table.c.id == bindparam("case_id"))
_TASK_BY_ID = select(_task_table).where(_task_table.c.id == bindparam("task_id"))
_TIMERS_OF_CASE = select(PendingTimer).where(PendingTimer.case_id == bindparam("case_id"))
_WAITS_OF_CASE = select(MessageWait).where(MessageWait.case_id == bindparam("case_id"))
_TASK_COLUMNS = tuple(c.key for c in _task_table.columns)
_READY_TASKS = select(_task_table).where(_task_table.c.case_id == bindparam("case_id"), _task_table.c.state == "ready")
# The case a task belongs to, by the task's id: a completion reads its case without reading the
# task first, and finds the task among the case's ready tasks (it must be ready to be completed).
_named = _task_table.alias("named")
_CASE_OF_TASK = select(_case_table, _NEWEST_DEFINITION).where(
    _case_table.c.id == select(_named.c.case_id).where(_named.c.id == bindparam("task_id")).scalar_subquery())


class CaseService(MessageCommands, TimerCommands, RepairCommands, TaskActions):
    def __init__(self, db: Database, registry: DefinitionRegistry, clock_: clock.Clock,
                 resolve_role: Callable[[str], str | None], deadlines: Deadlines | None = None,
                 case_prefix: str = "MC", seal: Callable[..., dict] | None = None,
                 indexed_fields: tuple[str, ...] = (), role_level: assignment.RoleLevel | None = None,
                 describe: Callable[[Any], str] | None = None,
                 on_write: Callable[[Connection, Case, frozenset[tuple[str, str]]], None] | None = None) -> None:
        self.db = db
        # Called in the transaction of every change of a case, after it is written (the app keeps
        # its per-case summaries with it, so they are never behind the case), with the case and the
        # indexed (name, value) pairs the change added or removed. Its statements' answers may not be read: on PostgreSQL
        # they go in one pipeline with the change's rows (store.pipelined).
        self.on_write = on_write
        # Where holders of a role sit (grid, village, town, city, department): a task's default unit.
        self.role_level = role_level or (lambda role: None)
        # Writes a value as people read it (a unit path as the unit's name): a task whose
        # ``instanceName`` property names a data variable is called "<step> · <describe(value)>".
        self.describe = describe or str
        # Applied to every input after validation, before the engine and the audit log see it (the
        # app seals personal data with it). A command that has just read the case passes
        # ``newest_definition`` (the newest definition version id then), which the app may use to
        # skip a query of its own.
        self.seal = seal or (lambda data, newest_definition=None: data)
        # Data fields copied to the case_fields index on every write, for search and reports.
        self.indexed_fields = indexed_fields
        self.deadlines = deadlines
        self.script_engine = runtime.script_engine(deadlines.functions() if deadlines else None)
        self.registry = registry
        self.clock = clock_
        self.resolve_role = resolve_role
        self.case_prefix = case_prefix
        # Workflows as the last command here committed them (workflow_cache.py: never shared, keyed
        # by the case row's version and chain head, so another process's write is never missed).
        self.workflows = WorkflowCache()

    # -- commands ----------------------------------------------------------------------------

    def start(self, process_key: str, data: dict[str, Any], actor: str, jurisdiction: str = "",
              title: str = "", message: str | None = None,
              also: Callable[[Connection, Case], None] | None = None) -> CaseView:
        """Start a case on the latest version of a process; with ``message``, at the message start
        event of that name with ``data`` as the message's payload. ``also`` writes the caller's
        own rows in the same transaction (and may refuse the start by raising)."""
        return self._start(process_key, self.seal(checked_data(data)), actor, jurisdiction, title, message,
                           also=also)

    def _start(self, process_key: str, data: dict[str, Any], actor: str, jurisdiction: str = "", title: str = "",
               message: str | None = None, receipt: dict[str, Any] | None = None,
               also: Callable[[Connection, Case], None] | None = None) -> CaseView:
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
        change.receipt = receipt
        if also is not None:
            change.also.append(also)
        return self._commit(change, snapshot)

    def complete_task(self, task_id: str, data: dict[str, Any], actor: str,
                      authorize: Callable[[CaseTask, Case], None] | None = None) -> CaseView:
        data = checked_data(data)
        now = self.clock.now()
        with self.db.read() as session:
            conn = session.connection()
            case_row = conn.execute(_CASE_OF_TASK, {"task_id": task_id}).first()
            if case_row is None:
                raise NotFound(f"task {task_id} does not exist")
            snapshot = self._snapshot(session, case_row.id, case_row=case_row)
            row = snapshot.ready.get(task_id)
            if row is None:  # no longer ready: read it for the answer's reason
                row = CaseTask(**conn.execute(_TASK_BY_ID, {"task_id": task_id}).one()._mapping)
        if authorize is not None:
            authorize(row, snapshot.case)
        if row.state != "ready":
            raise Conflict(f"task '{row.name}' is no longer ready: it was {row.state}", task_state=row.state)
        if row.assignee and row.assignee != actor:
            raise Conflict(f"task '{row.name}' is held by {row.assignee}", assignee=row.assignee)
        _require_open(snapshot.case)
        workflow = snapshot.workflow
        events, fired_incident = self._fire_due_timers_first(snapshot, now)
        task = runtime.find_task(workflow, UUID(task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            why = "its deadline timer fired first" if events else "it was done or withdrawn meanwhile"
            raise Conflict(f"task '{row.name}' is no longer ready: {why}")
        form_key, schema = snapshot.loaded.form_for(task.task_spec)
        _validate_form(schema, data, snapshot.loaded.validator(form_key) if schema is not None else None)
        data = self.seal(data, newest_definition=snapshot.newest_definition)
        actor_variable = task_properties(task.task_spec).get("actorVariable")
        if actor_variable:  # who did this step, for later steps (person.<variable>) and the "mine" view
            data = {**data, actor_variable: actor}
        if not snapshot.case.first_handler:  # 首办负责人: the first person to sign for the case
            snapshot.case.first_handler = actor
        events.append(NewEvent("task_completed", actor, now, {
            "task": runtime.spec_key(task), "task_id": task_id, "data": data, "form": form_key}))
        with clock.pinned(now):
            incident = steps.complete(workflow, task, data) or fired_incident
        change = self._change(snapshot, incident, now, actor, events=events, completed={task_id})
        return self._commit(change, snapshot)

    def cancel(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_cancelled", reason, "cancelled",
                                allowed=OPEN_STATUSES + ("incident", "suspended"))

    def suspend(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_suspended", reason, "suspended",
                                allowed=OPEN_STATUSES + ("incident",))

    def resume(self, case_id: int, actor: str, reason: str) -> CaseView:
        return self._set_status(case_id, actor, "case_resumed", reason, None, allowed=("suspended",))

    # -- reading -------------------------------------------------------------------------------

    def _snapshot(self, session: Session, case_id: int, read_index: bool = False, case_row=None) -> _Snapshot:
        """Read a case. The timer and message index rows always mirror the waits of the saved
        workflow (both are written in one transaction), so they are derived from it unless the
        caller needs the rows themselves (the timer worker, for its claims). ``case_row``: the
        case's row (with ``newest_definition``), when the caller has read it already."""
        # Core reads into plain (unattached) model objects: a command never uses the ORM session.
        conn = session.connection()
        row = case_row if case_row is not None else conn.execute(_CASE_BY_ID, {"case_id": case_id}).first()
        if row is None:
            raise NotFound(f"case {case_id} does not exist")
        columns = dict(row._mapping)
        newest_definition = columns.pop("newest_definition")
        case = Case(**columns)
        loaded = self.registry.load(session, case.definition_id)
        kept = self.workflows.take(case.id, case.version, case.chain_head, loaded.spec)
        workflow = (kept.workflow if kept is not None else
                    runtime.load(case.state, loaded.spec, loaded.subprocess_specs, self.script_engine))
        rows = kept.ready if kept is not None and kept.ready is not None else (
            r._mapping for r in conn.execute(_READY_TASKS, {"case_id": case_id}))
        ready = {r["id"]: CaseTask(**r) for r in rows}
        derived = kept.derived if kept is not None else None
        if read_index:
            timers = {t.id: t for t in session.scalars(_TIMERS_OF_CASE, {"case_id": case_id})}
            waits = {w.id: w for w in session.scalars(_WAITS_OF_CASE, {"case_id": case_id})}
            session.expunge_all()
        elif derived is not None:
            timers, waits = derived.timers, derived.waits
        else:
            timers, waits = _indexed_waits(workflow if case.status not in ("cancelled", "completed") else None)
        return _Snapshot(case, loaded, workflow, ready, timers, waits, newest_definition,
                         derived.fields if derived is not None else None)

    # -- working out what to write -----------------------------------------------------------

    def _change(self, snapshot: _Snapshot, incident: dict | None, now: datetime, actor: str,
                events: list[NewEvent], expected_version: int | None | str = "read",
                completed: set[str] | frozenset[str] = frozenset(), status: str | None = None) -> Change:
        case, workflow = snapshot.case, snapshot.workflow
        old_fields = snapshot.fields if snapshot.fields is not None else index_values(case.data or {},
                                                                                       self.indexed_fields)
        change = Change(case=case, expected_version=case.version if expected_version == "read" else expected_version,
                        events=list(events), actor=actor, at=now)
        for event in workflow.get_events():
            if isinstance(event.event_definition, TerminateEventDefinition):
                continue  # a terminate end event in a subprocess announces itself; it is no message
            change.outbox.append(_outbox_row(event, now))
            change.events.append(NewEvent("message_sent", actor, now, {
                "name": change.outbox[-1]["name"], "correlation": change.outbox[-1]["correlation"],
                "payload": change.outbox[-1]["payload"]}))
        runtime.prune(workflow)
        case.state = runtime.dump(workflow)
        # One walk of the task tree for the case's data, its status and its task rows.
        ready = runtime.ready_user_tasks(workflow)
        case.data = audit.jsonable(runtime.case_data(workflow, ready))
        case.incident = incident
        case.status = status or steps.status(workflow, incident, case.status, ready)
        case.updated_at = now
        if case.status == "completed" and case.completed_at is None:
            case.completed_at = now
        closed = case.status in ("cancelled", "completed")
        self._diff_tasks(change, snapshot, {} if case.status == "cancelled" else {str(t.id): t for t in ready},
                         now, set(completed))
        timers, waits = self._diff_waits(change, snapshot, None if closed else workflow)
        new_fields = index_values(case.data, self.indexed_fields)
        snapshot.left = Derived(timers, waits, new_fields)
        if new_fields != old_fields or expected_version is None:
            change.fields = sorted(new_fields)
            change.moved_fields = frozenset(new_fields ^ old_fields)
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
            role = self.resolve_role(spec.lane) if spec.lane else None
            goes_to = assignment.resolve(props, change.case.jurisdiction, task.data,
                                         self.role_level(role) if role else None)
            change.new_tasks.append({
                "id": task_id, "state": "ready", "element_id": spec.bpmn_id or spec.name,
                "name": self._task_name(task, props), "lane": spec.lane,
                "role": role, "jurisdiction": goes_to.unit, "assignee": goes_to.person, "form_key": form_key,
                "due_at": due_from_properties(props, now, self.deadlines, task.data), "priority": _priority(props),
                "created_at": now})

    def _task_name(self, task, props: dict[str, str]) -> str:
        """The step's name; an instance of a parallel step adds what it is for (签收应哨 · 市民政局)."""
        spec = task.task_spec
        name = spec.bpmn_name or spec.bpmn_id or spec.name
        value = task.data.get(props["instanceName"]) if props.get("instanceName") else None
        return f"{name} · {self.describe(value)}"[:200] if value not in (None, "") else name

    def task_data(self, task_id: str) -> dict[str, Any] | None:
        """The data a READY task sees (a parallel instance's own variables included), or None."""
        with self.db.read() as session:
            found = session.connection().execute(_TASK_BY_ID, {"task_id": task_id}).first()
            if found is None or found.state != "ready":
                return None
            snapshot = self._snapshot(session, found.case_id)
        task = runtime.find_task(snapshot.workflow, UUID(task_id))
        data = audit.jsonable(dict(task.data)) if task is not None else None
        self._keep(snapshot, list(snapshot.ready.values()))  # only read: still the committed state
        return data

    @staticmethod
    def _diff_waits(change: Change, snapshot: _Snapshot, workflow) -> tuple[dict[str, PendingTimer],
                                                                            dict[str, MessageWait]]:
        """The index rows to drop and to add; returns the ones ``workflow`` calls for."""
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
        return timers, messages

    # -- writing -------------------------------------------------------------------------------

    def _commit(self, change: Change, snapshot: _Snapshot) -> CaseView:
        if self.on_write is not None:
            change.unread.append(self.on_write)
        with self.db.write_engine.begin() as conn:
            store.write(conn, change, self.case_prefix)
        # Committed: from here on nothing may turn the answer into a failure.
        view = self._view(change, snapshot)
        self._keep(snapshot, view.tasks)
        self._dispatch_after_commit(change.outbox_ids)
        return view

    def _keep(self, snapshot: _Snapshot, ready: list[CaseTask] | None = None) -> None:
        """Cache the snapshot's workflow as the case's committed state (its row as now written),
        with its ``ready`` task rows as committed (copied: the caller's objects are its own)."""
        case = snapshot.case
        rows = tuple({c: getattr(t, c) for c in _TASK_COLUMNS} for t in ready) if ready is not None else None
        self.workflows.put(case.id, case.version, case.chain_head, snapshot.loaded.spec, snapshot.workflow, rows,
                           snapshot.left)

    def _view(self, change: Change, snapshot: _Snapshot) -> CaseView:
        tasks = [t for task_id, t in snapshot.ready.items() if task_id not in change.closed_tasks]
        for row in change.new_tasks:
            tasks.append(CaseTask(case_id=change.case.id, closed_at=None, closed_by=None, **row))
        tasks.sort(key=lambda t: (t.created_at, t.id))
        timers = [t for timer_id, t in snapshot.timers.items() if timer_id not in change.dropped_timers]
        timers += [PendingTimer(case_id=change.case.id, locked_until=None, **row) for row in change.new_timers]
        timers.sort(key=lambda t: (t.due_at, t.id))
        return CaseView(change.case, tasks, snapshot.loaded.version, timers)

    def view(self, case_id: int) -> CaseView:
        with self.db.read() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                         .order_by(CaseTask.created_at, CaseTask.id)))
            return CaseView(case, tasks, self.registry.load(session, case.definition_id).version)

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


def _validate_form(schema: dict | None, data: dict[str, Any], validator: Draft202012Validator | None = None) -> None:
    if schema is None:
        return
    validator = validator or Draft202012Validator(schema)
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

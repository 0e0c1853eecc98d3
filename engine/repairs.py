"""Administrators' repairs: correct data, retry an incident, skip a task, rewind, migrate.

Each needs a reason and is an audit event that replay applies the same way, so a repaired case
still replays and verifies. Rewind and migrate are built on replay itself: rewinding rebuilds the
case as of an earlier event; migrating re-runs the case's whole input history on another version
of its definition and is refused, with the first input that no longer fits, when that fails.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from . import clock, runtime, steps
from .errors import Conflict, InvalidData, NotFound
from .models import CaseTask, DefinitionVersion
from .replay import ReplayError, replay
from .store import NewEvent
from .verify import load_events

REPAIRABLE = ("active", "waiting", "incident", "suspended", "completed")


class RepairCommands:
    """Mixed into CaseService; uses its snapshot/change/commit plumbing."""

    def correct_data(self, case_id: int, changes: dict[str, Any], actor: str, reason: str):
        if not isinstance(changes, dict) or not changes:
            raise InvalidData("give the fields to correct", {"changes": "required"})
        if any(not isinstance(k, str) or k.startswith("_") for k in changes):
            raise InvalidData("field names may not start with an underscore")
        changes = self.seal(changes)

        def run(snapshot):
            steps.correct_data(snapshot.workflow, changes)
            return snapshot.case.incident  # a correction does not clear an incident; retry does
        return self._repair(case_id, actor, reason, "data_corrected", {"changes": changes}, run)

    def retry(self, case_id: int, actor: str, reason: str):
        def run(snapshot):
            if snapshot.case.status != "incident":
                raise Conflict(f"case {snapshot.case.case_no} has no incident to retry")
            return steps.retry(snapshot.workflow)
        return self._repair(case_id, actor, reason, "case_retried", {}, run, fire_first=True)

    def skip_task(self, task_id: str, actor: str, reason: str):
        with self.db.read() as session:
            row = session.get(CaseTask, task_id)
            if row is None:
                raise NotFound(f"task {task_id} does not exist")
            case_id = row.case_id

        def run(snapshot):
            task = runtime.find_task(snapshot.workflow, UUID(task_id))
            if task is None or not task.task_spec.manual or task.state != TaskState.READY:
                raise Conflict("only a ready user task can be skipped")
            payload["task"] = runtime.spec_key(task)
            return steps.complete(snapshot.workflow, task, {})
        payload: dict[str, Any] = {"task_id": task_id}
        return self._repair(case_id, actor, reason, "task_skipped", payload, run, completed={task_id},
                            fire_first=True)

    def rewind(self, case_id: int, to_seq: int, actor: str, reason: str):
        def run(snapshot):
            with self.db.read() as session:
                events, _ = load_events(session, case_id)
                load = self._loader(session)
                if not 1 < to_seq <= len(events):
                    raise InvalidData(f"to_seq must be between 2 and {len(events)}", {"to_seq": "out of range"})
                earlier = replay(events, load, self.script_engine, until=to_seq - 1)
            snapshot.workflow = earlier.workflow
            if snapshot.case.status != "suspended":
                snapshot.case.status = earlier.status
            return earlier.incident
        return self._repair(case_id, actor, reason, "case_rewound", {"to_seq": to_seq}, run)

    def migrate(self, case_id: int, to_version: int, actor: str, reason: str):
        def run(snapshot):
            with self.db.read() as session:
                target = session.scalars(select(DefinitionVersion).where(
                    DefinitionVersion.process_key == snapshot.case.process_key,
                    DefinitionVersion.version == to_version)).first()
                if target is None:
                    raise NotFound(f"process {snapshot.case.process_key} has no version {to_version}")
                events, _ = load_events(session, case_id)
                load = self._loader(session)
                try:
                    again = replay(events, load, self.script_engine, definition_override=target.id)
                except ReplayError as exc:
                    raise Conflict(f"the case cannot move to version {to_version}: {exc}") from None
                snapshot.loaded = load(target.id)
            payload.update(from_definition_id=snapshot.case.definition_id, to_definition_id=target.id)
            snapshot.case.definition_id = target.id
            snapshot.workflow = again.workflow
            return again.incident
        payload: dict[str, Any] = {"to_version": to_version}
        return self._repair(case_id, actor, reason, "case_migrated", payload, run)

    # -- plumbing --------------------------------------------------------------------------------

    def _loader(self, session):
        return lambda definition_id: self.registry.load(session, definition_id)

    def _repair(self, case_id: int, actor: str, reason: str, event_type: str, payload: dict[str, Any], run,
                completed=frozenset(), fire_first: bool = False):
        """``fire_first``: the repair runs the engine on, so timers already due fire before it, as
        their own event (see timers.py)."""
        if not reason or not reason.strip():
            raise InvalidData("a reason is required for every repair", {"reason": "required"})
        now = self.clock.now()
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id)
        if snapshot.case.status not in REPAIRABLE:
            raise Conflict(f"case {snapshot.case.case_no} is {snapshot.case.status}; it cannot be repaired")
        events, fired_incident = self._fire_due_timers_first(snapshot, now) if fire_first else ([], None)
        with clock.pinned(now):
            incident = run(snapshot) or fired_incident
        events.append(NewEvent(event_type, actor, now, {**payload, "reason": reason.strip()}))
        change = self._change(snapshot, incident, now, actor, events=events, completed=set(completed))
        return self._commit(change, snapshot)


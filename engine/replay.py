"""Rebuild a case from its audit events.

Replay starts a fresh workflow from the recorded definition version and feeds it the recorded
inputs in order, each at its recorded instant (so timers and deadlines come out the same), through
the same ``steps`` functions the live commands use. Tasks are found by spec and instance, never by
their random ids. Repair events replay too: a rewind rebuilds the case as of an earlier event, a
migration re-runs the whole input history on the new definition.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import clock, runtime, steps
from .audit import jsonable
from .clock import parse_instant

# Events that change nothing in the workflow: they are recorded for people, not for the engine.
INFORMATIONAL = {"message_sent", "task_claimed", "task_unclaimed", "task_reassigned", "task_delegated",
                 "task_delegation_resolved", "task_recalled", "task_urged", "task_copied", "comment_added",
                 "attachment_added", "personal_data_viewed", "document_issued", "document_signed", "mediator_appointed",
                 "audit_bundle_downloaded"}


class ReplayError(Exception):
    def __init__(self, seq: int, message: str) -> None:
        super().__init__(f"event {seq}: {message}")
        self.seq = seq
        self.message = message


@dataclass
class EventRecord:
    seq: int
    type: str
    actor: str
    at: Any          # datetime
    payload: dict[str, Any]


@dataclass
class ReplayState:
    workflow: runtime.CaseWorkflow | None = None
    definition_id: int | None = None
    status: str = "active"
    incident: dict | None = None
    path: list[str] = field(default_factory=list)       # element ids completed, in order
    trail: list[tuple[str, str]] = field(default_factory=list)  # (process id, element id), in order
    applied: int = 0

    def summary(self) -> dict[str, Any]:
        """The case as replay sees it, normalised for comparison (no task ids, no timestamps)."""
        return summarize(self.workflow, self.status, self.incident)


LoadDefinition = Callable[[int], Any]   # definition id -> LoadedSpec


def replay(events: Sequence[EventRecord], load: LoadDefinition, engine, until: int | None = None,
           definition_override: int | None = None) -> ReplayState:
    state = ReplayState()
    for index, event in enumerate(events):
        if until is not None and event.seq > until:
            break
        at = event.at if not isinstance(event.at, str) else parse_instant(event.at)
        with clock.pinned(at):
            _apply(state, events, index, event, load, engine, definition_override)
        if state.workflow is not None:
            runtime.prune(state.workflow)
        state.applied += 1
    return state


def _apply(state: ReplayState, events, index: int, event: EventRecord, load, engine, override) -> None:
    record = _path_recorder(state)
    payload = event.payload
    kind = event.type
    if kind == "case_started":
        state.definition_id = override or payload["definition_id"]
        state.workflow, state.incident = steps.begin(load(state.definition_id), engine, dict(payload["data"]),
                                                     payload.get("message"), record)
    elif state.workflow is None:
        raise ReplayError(event.seq, "the log does not begin with case_started")
    elif kind in ("task_completed", "task_skipped"):
        task = steps.find_ready(state.workflow, payload["task"])
        if task is None:
            raise ReplayError(event.seq, f"task {payload['task']} was not ready")
        state.incident = steps.complete(state.workflow, task, dict(payload.get("data") or {}), record)
    elif kind == "message_delivered":
        waiting = runtime.waiting_for(state.workflow, payload["name"])
        if not waiting:
            raise ReplayError(event.seq, f"no event was waiting for message '{payload['name']}'")
        state.incident = steps.deliver(state.workflow, waiting[0], payload["name"], dict(payload["payload"]), record)
    elif kind == "timer_fired":
        _, state.incident = steps.fire_timers(state.workflow, record)
    elif kind == "data_corrected":
        steps.correct_data(state.workflow, dict(payload["changes"]))
    elif kind in ("case_rewound", "task_returned"):
        earlier = replay(events[:index], load, engine, until=payload["to_seq"] - 1, definition_override=override)
        state.workflow, state.incident, state.path = earlier.workflow, earlier.incident, list(earlier.path)
        state.trail = list(earlier.trail)
        state.definition_id = earlier.definition_id
        if state.status != "suspended":
            state.status = earlier.status
    elif kind == "case_migrated":
        again = replay(events[:index], load, engine, definition_override=payload["to_definition_id"])
        state.workflow, state.incident, state.definition_id = again.workflow, again.incident, again.definition_id
    elif kind == "case_retried":
        state.incident = steps.retry(state.workflow, record)
    elif kind not in INFORMATIONAL and kind not in ("case_suspended", "case_resumed", "case_cancelled"):
        raise ReplayError(event.seq, f"unknown event type '{kind}'")
    state.workflow.get_events()  # thrown messages left the case through the outbox
    state.status = _next_status(state, kind)


def _next_status(state: ReplayState, kind: str) -> str:
    if kind == "case_cancelled":
        return "cancelled"
    if kind == "case_suspended":
        return "suspended"
    current = "active" if kind == "case_resumed" else state.status
    return steps.status(state.workflow, state.incident, current)


def _path_recorder(state: ReplayState) -> Callable[[Any], None]:
    def record(task) -> None:
        element_id = task.task_spec.bpmn_id
        if element_id:
            state.path.append(element_id)
            state.trail.append((task.workflow.spec.name, element_id))
    return record


def summarize(workflow, status: str, incident: dict | None) -> dict[str, Any]:
    if workflow is None:
        return {"status": status}
    return {
        "status": status,
        "data": jsonable(runtime.case_data(workflow)),
        "open_tasks": sorted(_key_text(runtime.spec_key(t)) for t in runtime.ready_user_tasks(workflow)),
        "waiting": sorted(_key_text(runtime.spec_key(t)) for t in runtime.waiting_tasks(workflow)),
        "incident": (incident or {}).get("element_id"),
    }


def _key_text(key: dict[str, Any]) -> str:
    text = f"{key.get('process', '')}/{key['element_id'] or key['spec']}"
    return f"{text}#{key['instance']}" if "instance" in key else text


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """What differs between two summaries: {field: {"stored": …, "replayed": …}}."""
    diff = {}
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) != actual.get(key):
            if isinstance(expected.get(key), dict) and isinstance(actual.get(key), dict):
                inner = {k: {"stored": expected[key].get(k), "replayed": actual[key].get(k)}
                         for k in sorted(set(expected[key]) | set(actual[key]))
                         if expected[key].get(k) != actual[key].get(k)}
                diff[key] = inner
            else:
                diff[key] = {"stored": expected.get(key), "replayed": actual.get(key)}
    return diff

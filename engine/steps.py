"""The inputs that move a case, applied to a workflow — the one implementation that live commands
and replay share, so a replayed case takes exactly the path the live one took.

Every function runs with the time pinned by the caller and returns the incident (or None) that
the engine run produced: a failing script becomes an incident, never a crash.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import runtime
from .errors import InvalidData
from .sandbox import SandboxError

Incident = dict[str, Any] | None
OnComplete = Callable[[Any], None] | None

# A case that is open to inputs: tasks, messages and timers move it.
OPEN_STATUSES = ("active", "waiting")
MAX_DATA_BYTES = 256 * 1024


def checked_data(data: Any) -> dict[str, Any]:
    """Input data (a form, a message payload, start data) as plain JSON of a bounded size."""
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


def begin(loaded, engine, data: dict[str, Any], message: str | None = None,
          on_complete: OnComplete = None) -> tuple[runtime.CaseWorkflow, Incident]:
    workflow = runtime.new_workflow(loaded.spec, loaded.subprocess_specs, engine)
    workflow.task_tree.data.update(data)
    if message:
        runtime.start_by_message(workflow, message, data)
    return workflow, advance(workflow, on_complete)


def complete(workflow, task, data: dict[str, Any], on_complete: OnComplete = None) -> Incident:
    task.data.update(data)
    task.run()
    if on_complete is not None:
        on_complete(task)
    return advance(workflow, on_complete)


def deliver(workflow, task, name: str, payload: dict[str, Any], on_complete: OnComplete = None) -> Incident:
    definition = runtime.message_definition(task, name)
    try:
        correlations = definition.calculate_correlations(
            workflow.script_engine, definition.correlation_properties, payload)
        workflow.send_event(BpmnEvent(definition, payload, correlations))
        if getattr(definition, "message_var", None) is None:
            # Without a messageVariable the payload's fields join the case data. After the catch:
            # catching re-inherits the parent's data, which would undo earlier updates.
            task.data.update(payload)
    except (SpiffWorkflowException, SandboxError) as exc:
        return incident_of(exc)
    return advance(workflow, on_complete)


def fire_timers(workflow, on_complete: OnComplete = None) -> tuple[list, Incident]:
    """Fire every timer due at the pinned time; returns the timer tasks that fired."""
    before = [t for t in runtime.waiting_tasks(workflow) if runtime.timer_due(t)]
    workflow.refresh_timers()
    fired = [t for t in before if t.state != TaskState.WAITING]
    return fired, advance(workflow, on_complete)


def correct_data(workflow, changes: dict[str, Any]) -> None:
    """An administrator's data correction: the running frontier takes the new values."""
    frontier = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.ERROR)]
    # A retry re-runs a failed task from its parent's data (dropping the failed attempt's partial
    # writes), so the correction goes to those parents too.
    frontier += [t.parent for t in frontier if t.state == TaskState.ERROR and t.parent is not None]
    for task in frontier or [workflow.last_task or workflow.task_tree]:
        task.data.update(changes)


def advance(workflow, on_complete: OnComplete = None) -> Incident:
    """Run the engine to its next wait."""
    try:
        runtime.run_engine(workflow, on_complete)
    except (SpiffWorkflowException, SandboxError) as exc:
        return incident_of(exc)
    return None


def incident_of(exc: Exception) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
    cause = exc
    while cause is not None and not isinstance(cause, SandboxError):
        cause = cause.__cause__ or cause.__context__
    message = cause.message if isinstance(cause, SandboxError) else str(exc)
    return {"element_id": getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
            "message": message, "kind": cause.kind if isinstance(cause, SandboxError) else "error"}


def status(workflow, incident: Incident, current: str) -> str:
    if current in ("cancelled", "suspended"):
        return current
    if incident:
        return "incident"
    if workflow.is_completed():
        return "completed"
    return "active" if runtime.ready_user_tasks(workflow) else "waiting"


def find_ready(workflow, key: dict[str, Any]):
    """The READY user task an audit record names (by spec, process and instance)."""
    for task in runtime.ready_user_tasks(workflow):
        if runtime.spec_key(task) == key:
            return task
    return None


def retry(workflow, on_complete: OnComplete = None) -> Incident:
    """Run the failed tasks of an incident again (after a data correction, say)."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    if not failed:
        return None
    for task in failed:
        workflow.reset_from_task_id(task.id)
    return advance(workflow, on_complete)

"""The inputs that move a case, applied to a workflow — the one implementation that live commands
and replay share, so a replayed case takes exactly the path the live one took.

Every function runs with the time pinned by the caller and returns the incident (or None) that
the engine run produced: a failing script, a bound of ``bounds`` hit, even memory running out
become an incident, never a crash.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import bounds, runtime
from .errors import InvalidData
from .sandbox import SandboxError

log = logging.getLogger(__name__)

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
    def act(budget: bounds.StepBudget) -> None:
        task.data.update(data)
        task.run()
        if on_complete is not None:
            on_complete(task)
        runtime.run_engine(workflow, on_complete, budget)
    return _bounded(workflow, act)


def deliver(workflow, task, name: str, payload: dict[str, Any], on_complete: OnComplete = None) -> Incident:
    definition = runtime.message_definition(task, name)

    def act(budget: bounds.StepBudget) -> None:
        correlations = definition.calculate_correlations(
            workflow.script_engine, definition.correlation_properties, payload)
        starts_sub_process = task is workflow.task_tree  # see runtime.waiting_for
        without_variable = getattr(definition, "message_var", None) is None
        if starts_sub_process and without_variable:
            task.data.update(payload)  # the event sub-process made from the root starts with it
        workflow.send_event(BpmnEvent(definition, payload, correlations))
        if without_variable and not starts_sub_process:
            # Without a messageVariable the payload's fields join the case data. After the catch:
            # catching re-inherits the parent's data, which would undo earlier updates.
            task.data.update(payload)
        runtime.run_engine(workflow, on_complete, budget)
    return _bounded(workflow, act)


def fire_timers(workflow, on_complete: OnComplete = None) -> tuple[list, Incident]:
    """Fire every timer due at the pinned time; returns the timer tasks that fired (a cycle timer keeps
    waiting after it fires, for its next time)."""
    before = {t: runtime.timer_due(t) for t in runtime.waiting_tasks(workflow) if runtime.timer_due(t)}

    def act(budget: bounds.StepBudget) -> None:
        workflow.refresh_timers()
        runtime.run_engine(workflow, on_complete, budget)
    incident = _bounded(workflow, act)
    return [t for t, due in before.items() if t.state != TaskState.WAITING or runtime.timer_due(t) != due], incident


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
    return _bounded(workflow, lambda budget: runtime.run_engine(workflow, on_complete, budget))


def _bounded(workflow, act: Callable[[bounds.StepBudget], None]) -> Incident:
    """Apply an input and run the engine within the engine's bounds. Whatever fails becomes the case's
    incident, never an error of the command, and the state is checked before anyone serialises it."""
    try:
        act(bounds.StepBudget())
        incident = None
    except (SpiffWorkflowException, SandboxError, bounds.BoundExceeded) as exc:
        incident = incident_of(exc)
    except (MemoryError, RecursionError) as exc:
        incident = {"element_id": _failed_element(workflow), "kind": "too_large",
                    "message": "the step ran out of memory" if isinstance(exc, MemoryError)
                    else "the step nested data too deeply"}
    except Exception as exc:  # SpiffWorkflow's own failures on a model it does not expect
        log.exception("the engine failed on a step")
        incident = {"element_id": _failed_element(workflow), "kind": "error",
                    "message": f"the engine could not run this step: {type(exc).__name__}: {exc}"[:500]}
    if incident is not None:
        bounds.discard_failed_writes(workflow)
    return _checked_state(workflow) or incident


def _checked_state(workflow) -> Incident:
    """None if the case's data is within its bound, else the incident that says so."""
    try:
        bounds.check_state(workflow)
    except bounds.BoundExceeded as exc:
        return incident_of(exc)
    return None


def _failed_element(workflow) -> str | None:
    failed = workflow.get_tasks(state=TaskState.ERROR)
    return failed[0].task_spec.bpmn_id if failed else None


def incident_of(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, bounds.BoundExceeded):
        return {"element_id": exc.element_id, "message": exc.message, "kind": exc.kind}
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
    cause = exc
    while cause is not None and not isinstance(cause, SandboxError):
        cause = cause.__cause__ or cause.__context__
    message = cause.message if isinstance(cause, SandboxError) else str(exc)
    return {"element_id": getattr(spec, "bpmn_id", None) or getattr(spec, "name", None),
            "message": message, "kind": cause.kind if isinstance(cause, SandboxError) else "error"}


def status(workflow, incident: Incident, current: str, ready: list | None = None) -> str:
    """The case's status after a step (``ready``: its ready user tasks, when the caller has them)."""
    if current in ("cancelled", "suspended"):
        return current
    if incident:
        return "incident"
    if workflow.is_completed():
        return "completed"
    return "active" if (runtime.ready_user_tasks(workflow) if ready is None else ready) else "waiting"


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

    def act(budget: bounds.StepBudget) -> None:
        for task in failed:
            workflow.reset_from_task_id(task.id)
        runtime.run_engine(workflow, on_complete, budget)
    return _bounded(workflow, act)

"""SpiffWorkflow, configured for long-running cases.

Three things the stock library gets wrong for a case system are closed here:

* **State without the spec.** A saved state holds the running tasks only; the parsed spec of the
  definition version is cached in memory and handed to the deserializer. Restoring a spec is also
  where SpiffWorkflow wires each loop or multi-instance task to its instances' completion
  (``connect_loop_tasks``), so parsed specs are wired when they are parsed.
* **History that grows without end.** SpiffWorkflow keeps every completed task in its tree, so
  each step costs O(history) and a loop stalls silently at depth 1000. ``prune`` cuts the tree
  above the lowest common ancestor of all unfinished tasks after every command. The real history
  lives in the audit log, not in the tree.
* **Arbitrary Python.** Every script and expression runs in ``sandbox.SandboxEnvironment``; what the
  engine does around them (timers, multi-instance, one command's run) is bounded by ``bounds``.
"""
from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any, Iterator
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from . import bounds, clock, sandbox, spiff_logging

clock.install_spiff_clock()
spiff_logging.install()

# Pruning keeps trees shallow; the higher limit only guards the rare tree that cannot be pruned
# (an event subprocess waiting since the start pins the root) from SpiffWorkflow's silent stall.
MAX_TREE_DEPTH = 100_000


class CaseWorkflow(BpmnWorkflow):
    def get_tasks_iterator(self, first_task=None, **kwargs) -> BpmnTaskIterator:
        kwargs.setdefault("max_depth", MAX_TREE_DEPTH)
        return BpmnTaskIterator(first_task or self.task_tree, **kwargs)


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the saved state; ``from_dict`` takes it from the caller."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def connect_loop_tasks(spec):
    """Wire every loop and multi-instance task of a parsed ``spec`` to the completion of its instances
    (in place; returns ``spec``).

    SpiffWorkflow makes this connection on the shared task spec, not on the workflow: when it
    restores a spec from a saved state, or when a loop task creates an instance. A state saved
    without its spec and loaded in a process whose spec never created an instance (another worker,
    a restarted one) had no connection, so the instances finished but the loop task never merged
    them and the case stopped there, while replay, which creates the instances itself, went on.
    Wiring at parse time (under the registry's lock) also leaves ``create_child`` nothing to
    connect while commands run in threads."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            instance = spec.task_specs[task_spec.task_spec]
            if not instance.completed_event.is_connected(task_spec.merge_child):
                instance.completed_event.connect(task_spec.merge_child)
    return spec


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[CaseWorkflow] = _SpeclessWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda value: {"value": str(value)}, lambda dct: Decimal(dct["value"]))
    return BpmnWorkflowSerializer(registry)


_local = threading.local()


def _serializer() -> BpmnWorkflowSerializer:
    # One per thread: serialize_json flips a flag on the shared registry.
    ser = getattr(_local, "serializer", None)
    if ser is None:
        ser = _local.serializer = _make_serializer()
    return ser


def script_engine(functions: dict | None = None) -> bounds.BoundedScriptEngine:
    """The sandboxed engine every script and expression runs in, with extra helper functions."""
    return bounds.BoundedScriptEngine(
        environment=sandbox.SandboxEnvironment(functions=functions, clock=clock.current_time))


DEFAULT_SCRIPT_ENGINE = script_engine()


def new_workflow(spec, subprocess_specs, engine: bounds.BoundedScriptEngine = DEFAULT_SCRIPT_ENGINE) -> CaseWorkflow:
    return CaseWorkflow(spec, subprocess_specs, script_engine=engine)


def start_by_message(workflow: CaseWorkflow, name: str, payload: dict[str, Any]) -> None:
    """Begin a fresh workflow at its message start event ``name`` instead of its none start event.

    SpiffWorkflow fires a none start event as soon as it runs, so the start events are reached by
    hand, every other start event is cancelled, and the message is caught."""
    while True:
        ready = [t for t in workflow.get_tasks(state=TaskState.READY) if not isinstance(t.task_spec, StartEvent)]
        if not ready:
            break
        for task in ready:
            task.run()
    starts = [t for t in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK) if isinstance(t.task_spec, StartEvent)]
    target = [t for t in starts if name in message_names(t)]
    if not target:
        raise ValueError(f"the process has no message start event for '{name}'")
    for task in starts:
        if task is not target[0]:
            task.cancel()
    definition = message_definition(target[0], name)
    correlations = definition.calculate_correlations(workflow.script_engine, definition.correlation_properties, payload)
    target[0].data.update(payload)
    workflow.catch(BpmnEvent(definition, payload, correlations))


def message_start_names(spec) -> set[str]:
    return {t.event_definition.name for t in spec.task_specs.values()
            if isinstance(t, StartEvent) and isinstance(t.event_definition, MessageEventDefinition)}


def dump(workflow: CaseWorkflow) -> str:
    ser = _serializer()
    ser.registry._encoder_mode = True
    try:
        dct = ser.to_dict(workflow)
        dct[ser.VERSION_KEY] = ser.VERSION
        return json.dumps(dct, cls=ser._encoder_cls, separators=(",", ":"))
    finally:
        ser.registry._encoder_mode = False


def load(state: str, spec, subprocess_specs, engine: bounds.BoundedScriptEngine = DEFAULT_SCRIPT_ENGINE) -> CaseWorkflow:
    ser = _serializer()
    dct = json.loads(state, cls=ser.json_decoder_cls)
    ser.migrate(dct)
    workflow = ser.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = engine
    return workflow


# SpiffWorkflow walks the whole tree on every pass of do_engine_steps; a script-only loop would
# cost O(n^2) within one command without pruning as it goes.
PRUNE_EVERY_STEPS = 200


def run_engine(workflow: CaseWorkflow, on_complete=None, budget: bounds.StepBudget | None = None) -> None:
    """do_engine_steps, pruning the tree every PRUNE_EVERY_STEPS completed tasks and counting every step
    against ``budget`` (raises bounds.BoundExceeded); ``on_complete`` sees every task the engine completes
    (replay records the path with it)."""
    budget = budget or bounds.StepBudget()

    def completed(task) -> None:
        budget.step(task)
        if on_complete is not None:
            on_complete(task)
        if budget.steps % PRUNE_EVERY_STEPS == 0:
            prune(workflow)

    workflow.do_engine_steps(did_complete_task=completed)


# -- pruning -------------------------------------------------------------------------------------

def prune(workflow: CaseWorkflow) -> int:
    """Drop completed history from the task tree; return how many tasks were dropped."""
    dropped = 0
    for each in [workflow, *workflow.subprocesses.values()]:
        if not each.completed:
            dropped += _prune_tree(each)
    _drop_orphan_subprocesses(workflow)
    return dropped


def _prune_tree(wf) -> int:
    unfinished = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    common = _path_to(unfinished[0])
    for task in unfinished[1:]:
        path = _path_to(task)
        size = 0
        for a, b in zip(common, path):
            if a != b:
                break
            size += 1
        common = common[:size]
    # Keep the ancestor's parent: it is the step that just finished, which last_task points at.
    if len(common) < 4:
        return 0
    keep_from = wf.tasks[common[-2]]
    root = wf.task_tree
    keep = {root.id}
    stack = [keep_from.id]
    while stack:
        task_id = stack.pop()
        keep.add(task_id)
        stack.extend(wf.tasks[task_id]._children)
    dropped = [task_id for task_id in wf.tasks if task_id not in keep]
    for task_id in dropped:
        task = wf.tasks.pop(task_id)
        if task.has_state(TaskState.WAITING):
            wf.top_workflow.event_manager.remove_task(task)
    keep_from._parent = root.id
    root._children = [keep_from.id]
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = keep_from
    return len(dropped)


def _path_to(task: Task) -> list[UUID]:
    path = []
    while task is not None:
        path.append(task.id)
        task = task.parent
    path.reverse()
    return path


def _drop_orphan_subprocesses(workflow: CaseWorkflow) -> None:
    while True:
        live = set(workflow.tasks)
        for sub in workflow.subprocesses.values():
            live.update(sub.tasks)
        orphans = [key for key in workflow.subprocesses if key not in live]
        if not orphans:
            return
        for key in orphans:
            del workflow.subprocesses[key]


# -- reading the running state -------------------------------------------------------------------

def find_task(workflow: CaseWorkflow, task_id: UUID) -> Task | None:
    if task_id in workflow.tasks:
        return workflow.tasks[task_id]
    for sub in workflow.subprocesses.values():
        if task_id in sub.tasks:
            return sub.tasks[task_id]
    return None


def ready_user_tasks(workflow: CaseWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def waiting_tasks(workflow: CaseWorkflow) -> Iterator[Task]:
    yield from workflow.event_manager.tasks.values()


def _definitions(task: Task) -> list:
    """A catching task's event definitions; an event-based gateway waits for several at once."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def timer_due(task: Task) -> str | None:
    for definition in _definitions(task):
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            return value if isinstance(value, str) else None
    return None


def message_names(task: Task) -> list[str]:
    return [d.name for d in _definitions(task) if isinstance(d, MessageEventDefinition)]


def message_definition(task: Task, name: str) -> MessageEventDefinition | None:
    definitions = ([start.event_definition for start in _trigger_starts(task.workflow)]
                   if task is task.workflow.task_tree else _definitions(task))
    for definition in definitions:
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    return None


def waiting_for(workflow: CaseWorkflow, name: str) -> list[Task]:
    """The tasks waiting for message ``name``; else, if the message starts one of the case's event
    sub-processes, the case's root task, which stands for the sub-process still to be made."""
    waiting = [t for t in waiting_tasks(workflow) if name in message_names(t)]
    if not waiting and any(n == name for n, _ in message_triggers(workflow)):
        return [workflow.task_tree]
    return waiting


def message_triggers(workflow: CaseWorkflow) -> list[tuple[str, str]]:
    """(message name, start event id) of the event sub-processes a message starts. SpiffWorkflow keeps
    these apart from the waiting tasks: such a sub-process is only made when its message arrives."""
    if workflow.is_completed():
        return []
    return [(start.event_definition.name, start.bpmn_id) for start in _trigger_starts(workflow)
            if isinstance(start.event_definition, MessageEventDefinition)]


def _trigger_starts(workflow) -> Iterator:
    for spec_name in getattr(workflow.spec.start, "trigger_specs", ()):
        sub_spec = workflow.subprocess_specs.get(spec_name)
        yield from (sub_spec.bpmn_start_events if sub_spec is not None else ())


def case_data(workflow: CaseWorkflow, ready: list[Task] | None = None) -> dict[str, Any]:
    """The data a person would call 'the case's data' now (``ready``: its ready user tasks, when
    the caller has them)."""
    if workflow.is_completed():
        return dict(workflow.data)
    ready = ready_user_tasks(workflow) if ready is None else ready
    if ready:
        return dict(ready[0].data)
    # Waiting inside a called process (a revisit wait, a recurrence watch): its data is the case's
    # latest, while the top process still holds what it had when it made the call.
    waiting = list(waiting_tasks(workflow))
    if waiting:
        return dict(max(waiting, key=_depth_then_name).data)
    last = workflow.last_task
    return dict(last.data) if last is not None else dict(workflow.task_tree.data)


def _depth_then_name(task: Task) -> tuple[int, str]:
    """The most deeply called waiting task, then by name: the same choice live and in replay."""
    depth, workflow = 0, task.workflow
    while workflow is not workflow.top_workflow:
        depth += 1
        workflow = workflow.top_workflow.get_task_from_id(workflow.parent_task_id).workflow
    return depth, task.task_spec.name


def spec_key(task: Task) -> dict[str, Any]:
    """How the audit log names a task: by spec and instance, never by its random id. A task inside
    a multi-instance sub-process also carries the instance numbers of the sub-processes around it
    (``scope``), so the departments of a parallel whistle stay apart."""
    key: dict[str, Any] = {"spec": task.task_spec.name, "element_id": task.task_spec.bpmn_id}
    instance = _instance(task)
    if instance is not None:
        key["instance"] = instance
    if task.workflow is not task.workflow.top_workflow:
        key["process"] = task.workflow.spec.name
        scope = []
        workflow = task.workflow
        while workflow is not workflow.top_workflow:
            parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
            scope.append(_instance(parent))
            workflow = parent.workflow
        if any(i is not None for i in scope):
            key["scope"] = list(reversed(scope))
    return key


def _instance(task: Task) -> Any:
    info = task.task_spec.task_info(task) if hasattr(task.task_spec, "task_info") else {}
    return info.get("instance") if isinstance(info, dict) else None

"""Bounds on what a process definition can make the engine do, so that no diagram can take a worker down.

The sandbox bounds each script and expression. What SpiffWorkflow does around them is bounded here:

* **Timer values.** A timer's expression (or a bare ISO-8601 text, as other modelling tools write them) is
  evaluated in the sandbox, then checked by ``sandbox.timer_values`` under the sandbox's CPU limit and handed to
  SpiffWorkflow in canonical form: no date after 2100, no duration over ten years, cycles of 1 to 1,000
  repetitions no more often than once a minute.
* **Multi-instance and loops.** At most ``MAX_INSTANCES`` instances per activity, and never more instances
  than ``MAX_STATE_BYTES`` of copied data: each instance starts with a copy of the activity's data.
* **One command's engine run.** At most ``MAX_ENGINE_STEPS`` steps and ``ENGINE_CPU_SECONDS`` of CPU time
  without waiting for a person, a message or a timer (an endless loop of gateways is otherwise invisible).
* **The state.** A task that failed keeps no more data than a successful script could have left
  (a script stopped while growing a list gets its starting data back). Before a state is serialised, the
  data of its unfinished and failed tasks is measured (shared references counted each time, as JSON would
  write them); over ``MAX_STATE_BYTES`` the case goes to incident.

Every bound that is hit raises :class:`BoundExceeded` or a ``WorkflowTaskException`` naming the element, which
``engine/steps.py`` turns into the case's incident.
"""
from __future__ import annotations

import gc
import json
import time
from copy import deepcopy
from functools import lru_cache
from typing import Any, Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (LoopTask, MultiInstanceTask,
                                                                ParallelMultiInstanceTask)
from SpiffWorkflow.util.task import TaskState

from . import clock
from .sandbox import SandboxError, SandboxLimits, json_size, timer_values

MAX_INSTANCES = 1000
MAX_STATE_BYTES = 8 * 1024 * 1024
# What a successful script may leave (the sandbox's result bound): a failed one may leave no more.
MAX_FAILED_DATA_BYTES = SandboxLimits().max_result_bytes
MAX_ENGINE_STEPS = 10_000
ENGINE_CPU_SECONDS = 10.0

_TIMER_VALUES: dict[type, Callable[[Any], str]] = {
    TimeDateEventDefinition: timer_values.date_value,
    DurationTimerEventDefinition: lambda value: timer_values.duration_value(value, clock.current_time()),
    CycleTimerEventDefinition: lambda value: timer_values.cycle_value(value, clock.current_time()),
}


class BoundExceeded(Exception):
    """A bound of this module was hit; ``element_id`` names the element that was running, when known."""

    def __init__(self, message: str, element_id: str | None = None, kind: str = 'out_of_bounds') -> None:
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.kind = kind


# -- evaluations -------------------------------------------------------------------------------------------

class BoundedScriptEngine(PythonScriptEngine):
    """The script engine, with the values of timers and multi-instance cardinalities checked."""

    def evaluate(self, task, expression, external_context=None):
        timer = _timer_of(task.task_spec, expression)
        if timer is not None:
            value = timer_values.literal(expression)
            if value is None:
                value = super().evaluate(task, expression, external_context)
            return self._checked(task, _TIMER_VALUES[type(timer)], value, 'timer')
        value = super().evaluate(task, expression, external_context)
        if isinstance(task.task_spec, MultiInstanceTask) and expression == task.task_spec.cardinality:
            self._checked(task, _cardinality, value, 'multi-instance cardinality')
        return value

    def _checked(self, task, check: Callable[[Any], Any], value: Any, what: str) -> Any:
        run = getattr(self.environment, 'run_limited', None)
        try:
            return run(check, value, what) if run else check(value)
        except SandboxError as err:
            raise WorkflowTaskException(f'{what}: {err.message}', task=task, exception=err) from err


def _timer_of(task_spec, expression: str) -> TimerEventDefinition | None:
    definition = getattr(task_spec, 'event_definition', None)
    candidates = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    for candidate in candidates:
        if type(candidate) in _TIMER_VALUES and candidate.expression == expression:
            return candidate
    return None


def _cardinality(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INSTANCES:
        raise SandboxError(f'{value!r} is not a number of instances from 0 to {MAX_INSTANCES}', 'out_of_bounds')
    return value


# -- multi-instance and loops ------------------------------------------------------------------------------

class _InstanceBound:
    """Mixed into sequential multi-instance and loop task specs (see :func:`bound_spec`): they make one
    instance at a time; the number checked is the instances made so far plus those still planned."""

    def create_child(self, my_task, *args, **kwargs) -> None:
        planned = len(my_task.children) + 1 + len(my_task.internal_data.get('remaining', ()))
        _check_instances(my_task, max(planned, my_task.internal_data.get('cardinality') or 0))
        super().create_child(my_task, *args, **kwargs)


class _ParallelInstanceBound:
    """Mixed into parallel multi-instance task specs: all instances are made in one step, so their number
    is checked before the first."""

    def create_children(self, my_task) -> None:
        if self.data_input is None:
            count = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)  # an expression only reads
        else:
            collection = self.data_input.get(my_task)
            count = len(collection) if hasattr(collection, '__len__') else 0
        _check_instances(my_task, count)
        super().create_children(my_task)


def _check_instances(my_task, count: int) -> None:
    problem = None
    if count > MAX_INSTANCES:
        problem = f'{count} instances exceed the limit of {MAX_INSTANCES}'
    elif count * json_size(my_task.data, MAX_STATE_BYTES) > MAX_STATE_BYTES:
        problem = (f'{count} instances, each with a copy of the task data, exceed the case data limit of '
                   f'{_megabytes(MAX_STATE_BYTES)}')
    if problem:
        error = SandboxError(problem, 'out_of_bounds')
        raise WorkflowTaskException(f'multi-instance: {problem}', task=my_task, exception=error) from error


@lru_cache(maxsize=None)
def _bounded_class(cls: type) -> type:
    bound = _ParallelInstanceBound if issubclass(cls, ParallelMultiInstanceTask) else _InstanceBound
    # Same name, so descriptions and logs read as before.
    return type(cls.__name__, (bound, cls), {'__module__': cls.__module__})


def bound_spec(spec):
    """Give a parsed process spec's multi-instance and loop tasks their instance bound (in place)."""
    for task_spec in spec.task_specs.values():
        cls = type(task_spec)
        if issubclass(cls, LoopTask) and not issubclass(cls, (_InstanceBound, _ParallelInstanceBound)):
            task_spec.__class__ = _bounded_class(cls)
    return spec


# -- one engine run ----------------------------------------------------------------------------------------

class StepBudget:
    """Counts the steps of one engine run and the CPU time they take; raises BoundExceeded beyond either."""

    def __init__(self) -> None:
        self.steps = 0
        self.max_steps = MAX_ENGINE_STEPS
        self.cpu_seconds = ENGINE_CPU_SECONDS
        self.deadline = time.thread_time() + self.cpu_seconds

    def step(self, task) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BoundExceeded(f'the process ran {self.max_steps} steps in one go without waiting for a person, '
                                'a message or a timer: an endless loop?', task.task_spec.bpmn_id)
        if time.thread_time() > self.deadline:
            raise BoundExceeded(f'the process ran for more than {self.cpu_seconds:g} s of CPU time in one go '
                                'without waiting for a person, a message or a timer', task.task_spec.bpmn_id,
                                'timeout')


# -- the state ---------------------------------------------------------------------------------------------

def _live_tasks(workflow):
    """The tasks whose data the saved state carries in full: unfinished or failed ones. (Completed tasks are
    pruned, or saved as small differences from their parent's data.)"""
    for each in (workflow, *workflow.subprocesses.values()):
        for task in each.tasks.values():
            if task.state == TaskState.ERROR or not task.has_state(TaskState.FINISHED_MASK):
                yield task


def check_state(workflow) -> None:
    """Raise BoundExceeded if the data of the live tasks together exceeds MAX_STATE_BYTES."""
    budget, largest, largest_size = MAX_STATE_BYTES, None, -1
    measured: dict[int, int] = {}  # tasks that share one data dict: measured once, counted for each
    for task in _live_tasks(workflow):
        data = task.data
        if not data:
            continue  # the predicted tasks': empty until they inherit their parent's
        size = measured.get(id(data))
        if size is None:
            size = measured[id(data)] = _data_size(data, budget)
        budget -= size
        if size > largest_size:
            largest, largest_size = task, size
        if budget < 0:
            raise BoundExceeded(f'the case data exceeds the limit of {_megabytes(MAX_STATE_BYTES)} (the largest '
                                f'task data, {largest_size // 1024} KB, is at this element)',
                                largest.task_spec.bpmn_id, 'too_large')


def _data_size(data: dict, budget: int) -> int:
    """The JSON size of a task's data: the length of its encoding by the json module's C encoder (a
    command checks its state after every step, and walking the data in Python, as ``json_size`` does,
    cost ten times as much), else ``json_size`` where the encoder refuses the data (a cycle, nesting
    past the recursion limit, keys that are not strings, bytes) or memory runs out."""
    try:
        return len(_MEASURE.encode(data))
    except (TypeError, ValueError, RecursionError, MemoryError):
        return json_size(data, budget)


def _stand_in(value: Any) -> Any:
    """What the measuring encoder writes for a value JSON has no form for: a set's items; 24
    characters for any other value (json_size's size for a date, a Decimal, an object); bytes are
    refused (json_size counts their length)."""
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("bytes")
    return "-" * 22


_MEASURE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_stand_in)


def _megabytes(size: int) -> str:
    return f'{size / 2**20:.3g} MB'


def discard_failed_writes(workflow, limit: int = MAX_FAILED_DATA_BYTES) -> bool:
    """Give each failed task whose data grew past ``limit`` the data it started with: a script stopped while
    growing a list leaves no more behind than a script that succeeded could (a retry starts from the
    parent's data anyway). Whether any was discarded."""
    discarded = False
    for task in workflow.get_tasks(state=TaskState.ERROR):
        if task.parent is not None and json_size(task.data, limit) > limit:
            task.data = deepcopy(task.parent.data)
            discarded = True
    if discarded:
        # The failed script's traceback and frames form reference cycles that still hold the grown data;
        # free it now, before the state is serialised.
        gc.collect()
    return discarded

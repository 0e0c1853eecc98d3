"""The engine's hot-path shortcuts keep the library's and the bounds' behaviour: a task state change
without its log record when nobody reads it, and the case data measured by the C encoder."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import bounds, runtime  # noqa: F401  (runtime installs the shortcut)
from engine.sandbox import json_size

from .bpmn_support import bpmn, flow


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def spiff_task_log():
    logger, recorder = logging.getLogger("spiff.task"), _Recorder()
    level = logger.level
    logger.addHandler(recorder)
    yield logger, recorder
    logger.removeHandler(recorder)
    logger.setLevel(level)


def _task():
    """The READY user task of a one-task process."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn('<bpmn:startEvent id="start"/><bpmn:userTask id="ask"/><bpmn:endEvent id="end"/>'
                             + flow(("start", "ask"), ("ask", "end")), "p_hot").content)
    workflow = runtime.new_workflow(parser.get_spec("p_hot"), {})
    workflow.do_engine_steps()
    [ready] = workflow.get_tasks(state=TaskState.READY)
    return ready


def test_a_state_change_is_logged_as_the_library_logs_it_when_info_is_on(spiff_task_log):
    logger, recorder = spiff_task_log
    logger.setLevel(logging.INFO)
    task = _task()
    before = task.last_state_change
    task._set_state(TaskState.WAITING)
    assert task.state == TaskState.WAITING and task.last_state_change >= before
    [record] = [r for r in recorder.records if r.getMessage() == "State changed to WAITING"]
    assert record.task_spec == "ask" and "elapsed" in record.__dict__


def test_a_state_change_builds_no_record_when_nobody_reads_it(spiff_task_log, monkeypatch):
    logger, recorder = spiff_task_log
    logger.setLevel(logging.WARNING)
    task = _task()
    monkeypatch.setattr(Task, "collect_log_extras", lambda *_: pytest.fail("a record was built"))
    before = task.last_state_change
    task._set_state(TaskState.WAITING)
    task._set_state(TaskState.WAITING)  # the same state again: nothing changes
    assert task.state == TaskState.WAITING and task.last_state_change >= before
    assert recorder.records == []


@pytest.mark.parametrize("data", [
    {"summary": "邻里纠纷", "amount": 3000, "ok": True, "none": None, "rate": 0.5},
    {"parties": [{"name": "张三", "id_no": {"$pii": "id_no", "hash": "ab" * 32}}], "tags": ("a", "b")},
    {"nested": {"deeper": {"list": list(range(50))}}},
])
def test_the_data_size_is_its_json_length(data):
    import json
    assert bounds._data_size(data, 1 << 30) == len(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def test_values_json_has_no_form_for_count_as_json_size_counts_them():
    assert bounds._data_size({"d": date(2026, 12, 4)}, 1 << 30) == len('{"d":}') + 24
    assert bounds._data_size({"n": Decimal("1.5")}, 1 << 30) == len('{"n":}') + 24
    assert bounds._data_size({"s": {"x" * 100}}, 1 << 30) > 100  # a set's items are measured


@pytest.mark.parametrize("data", [
    {"raw": b"x" * 1000},                       # bytes: the encoder refuses them
    {("a", 1): "tuple key"},                    # a key JSON cannot have
])
def test_data_the_encoder_refuses_is_measured_by_json_size(data):
    assert bounds._data_size(data, 1 << 30) == json_size(data, 1 << 30)


def test_a_cycle_or_deep_nesting_is_measured_by_json_size():
    cycle: dict = {"when": datetime(2026, 1, 1, tzinfo=timezone.utc)}
    cycle["self"] = cycle
    assert bounds._data_size(cycle, 10_000) > 10_000  # json_size walks it until the budget runs out
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert bounds._data_size({"deep": deep}, 1 << 30) == json_size({"deep": deep}, 1 << 30)

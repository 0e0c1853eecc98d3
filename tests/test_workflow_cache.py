"""The cache of deserialized workflows (engine/workflow_cache.py): only ever the committed state."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from api.core.services import build_services
from engine import runtime
from engine.errors import Conflict
from engine.workflow_cache import WorkflowCache

from .conftest import deploy

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
REGISTER = {"summary": "邻里宅基地纠纷", "amount": 5000}


@pytest.fixture
def loads(monkeypatch):
    """How many times a workflow was rebuilt from its saved state."""
    count = [0]
    real = runtime.load

    def counting(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)
    monkeypatch.setattr(runtime, "load", counting)
    return count


def started(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    return svc.cases.start("t_simple", {}, "tester", VILLAGE)


def test_the_next_command_takes_the_committed_workflow(svc, loads):
    view = started(svc)
    svc.cases.annotate(view.case.id, "tester", "comment_added", {"text": "已电话联系"})  # moves the row, not the state
    assert svc.cases.task_data(view.tasks[0].id) is not None  # a read hands the workflow back
    view = svc.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    view = svc.cases.complete_task(view.tasks[0].id, {"outcome": "达成协议"}, "mediator")
    assert loads[0] == 0
    assert view.case.status == "completed" and view.case.data["risk"] == "high"


def test_the_next_command_takes_the_ready_tasks_too(svc, loads):
    view = started(svc)
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(svc.db.engine, "before_cursor_execute", listen)
    try:
        svc.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", listen)
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM case_tasks" in s
                and "case_tasks.state" in s]  # the ready rows came with the workflow


def test_a_task_action_between_commands_is_never_missed(svc, loads):
    view = started(svc)
    view = svc.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    svc.cases.claim(view.tasks[0].id, "mediator")  # moves the row and the task, not the state
    with pytest.raises(Conflict, match="held by mediator"):
        svc.cases.complete_task(view.tasks[0].id, {"outcome": "达成协议"}, "someone_else")
    view = svc.cases.complete_task(view.tasks[0].id, {"outcome": "达成协议"}, "mediator")
    assert view.case.status == "completed" and loads[0] == 1  # the refused command dropped what it took


def test_another_process_writing_the_case_is_never_missed(svc, settings, clock, loads):
    view = started(svc)
    other = build_services(settings, clock)  # another process: its own cache
    try:
        moved = other.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    finally:
        other.db.dispose()
    assert loads[0] == 1  # the other one had to load it
    [mediate] = moved.tasks
    view = svc.cases.complete_task(mediate.id, {"outcome": "达成协议"}, "mediator")
    assert loads[0] == 2  # ours was stale (an older version): loaded from the row
    assert view.case.status == "completed" and view.case.data["risk"] == "high"


def test_a_command_that_rolls_back_drops_the_workflow(svc, request, loads):
    view = started(svc)
    heal = request.getfixturevalue("commit_fails")
    with pytest.raises(RuntimeError):
        svc.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    assert len(svc.cases.workflows) == 0  # the half-run workflow is gone, not cached
    heal()
    view = svc.cases.complete_task(view.tasks[0].id, REGISTER, "grid")
    assert loads[0] == 1 and [t.element_id for t in view.tasks] == ["mediate"]


def test_two_commands_at_once_never_share_a_workflow(svc):
    view = started(svc)
    with svc.db.read() as session:
        first = svc.cases._snapshot(session, view.case.id)
        second = svc.cases._snapshot(session, view.case.id)
    assert first.workflow is not second.workflow
    assert runtime.dump(first.workflow) == runtime.dump(second.workflow)


def test_a_workflow_built_on_another_spec_is_not_taken():
    cache, spec, newer = WorkflowCache(size=2), object(), object()
    cache.put(1, 3, "head", spec, "workflow")
    assert cache.take(1, 3, "head", newer) is None
    assert cache.take(1, 3, "head", spec) is None  # a miss drops the entry too
    for case_id in (1, 2, 3):
        cache.put(case_id, 1, "head", spec, f"workflow {case_id}")
    assert len(cache) == 2 and cache.take(1, 1, "head", spec) is None  # the oldest left first
    assert cache.take(3, 1, "head", spec).workflow == "workflow 3"

"""BPMN from other modelling tools (tests/fixtures/foreign/: Camunda Modeler 5, bpmn.io, a Signavio/Bizagi-style
export, a two-pool collaboration, nested lanes, data objects and stores, annotations and groups, an event
sub-process): each file deploys and runs, or is refused with 422 naming every unsupported construct by element
and line; and no mutation of a valid file makes deployment fail any other way."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from api.core.config import Settings
from api.core.services import RoleCatalogue
from engine.definitions import SourceFile, build_parser, compile_bundle
from engine.errors import DefinitionInvalid

from .conftest import FIXTURES
from .process_support import do, ready

FOREIGN = FIXTURES / "foreign"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
ROLES = RoleCatalogue.load(Settings())

# file -> the processes it deploys, or {element id: line} of the issues it is refused with
EXPECTED: dict[str, list[str] | dict[str, int]] = {
    "annotations_groups.bpmn": ["Process_notes"],
    "bpmnio_plain.bpmn": {"Process_1": 3},                                   # isExecutable="false"
    "camunda5_intake.bpmn": {"Flow_big": 38, "Task_notify": 49},             # a JUEL condition, a service task
    "collaboration_two_pools.bpmn": ["Process_grid_report", "Process_town_review"],
    "data_objects_stores.bpmn": {"DataStore_archive": 3, "DataStoreReference_archive": 15},
    "event_subprocess.bpmn": ["Process_event_sub"],
    "nested_lanes.bpmn": ["Process_nested_lanes"],
    "signavio_vendor.bpmn": ["sid-neighbour-dispute"],
}


def foreign(name: str) -> SourceFile:
    return SourceFile(name, (FOREIGN / name).read_bytes())


def test_the_corpus_is_complete():
    assert sorted(p.name for p in FOREIGN.glob("*.bpmn")) == sorted(EXPECTED)


def test_each_file_validates_over_http_or_is_a_422_naming_element_and_line(client, login):
    designer = login("designer")
    for name, expected in EXPECTED.items():
        answer = client.post("/api/v1/definitions/validate", headers=designer, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(foreign(name).content), name)]})
        body = answer.get_json()
        if isinstance(expected, list):
            assert answer.status_code == 200, (name, body)
            assert sorted(p["key"] for p in body["processes"]) == expected
        else:
            assert answer.status_code == 422, (name, body)
            assert {e["element_id"]: e["line"] for e in body["errors"]} == expected, (name, body["errors"])


def deploy_foreign(svc, name: str) -> None:
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [foreign(name)], "designer", svc.clock.now())


def test_a_collaboration_deploys_each_pool_and_its_message_flows_run(svc, verify_all_cases):
    deploy_foreign(svc, "collaboration_two_pools.bpmn")
    grid = svc.cases.start("Process_grid_report", {}, "grid", VILLAGE)
    do(svc, grid.case.id, "Task_write_report", {"report": "邻里噪音"}, role="grid_worker")
    # The message flow 上报 started the town's process, which waits for the town officer.
    town_id = next(c for c in _open_cases(svc) if c.process_key == "Process_town_review").id
    do(svc, town_id, "Task_review", {"answer": "同意调解"}, role="town_officer")
    # The answer flowed back to the waiting grid case.
    assert [t.element_id for t in ready(svc, grid.case.id)] == ["Task_tell_parties"]


def _open_cases(svc):
    from sqlalchemy import select

    from engine.models import Case
    with svc.db.read() as session:
        return list(session.scalars(select(Case).where(Case.status.in_(("active", "waiting")))))


def test_tasks_in_nested_lanes_go_to_the_innermost_lanes_role(svc, verify_all_cases):
    deploy_foreign(svc, "nested_lanes.bpmn")
    case_id = svc.cases.start("Process_nested_lanes", {}, "grid", VILLAGE).case.id
    do(svc, case_id, "Task_grid_visit", {}, role="grid_worker")
    do(svc, case_id, "Task_village_mediate", {}, role="village_mediator")
    do(svc, case_id, "Task_town_review", {}, role="town_officer")
    assert svc.cases.view(case_id).case.status == "completed"


def test_event_sub_processes_run_on_their_message_and_their_timer_beside_the_main_flow(svc, verify_all_cases, clock):
    deploy_foreign(svc, "event_subprocess.bpmn")
    case_id = svc.cases.start("Process_event_sub", {}, "mediator", VILLAGE).case.id
    case_no = svc.cases.view(case_id).case.case_no
    svc.cases.deliver_message("material_added", {"case_no": case_no}, {"material": "照片"}, "m1", "app")
    clock.advance(days=7, minutes=1)
    assert svc.cases.fire_due_timers() == 1
    view = svc.cases.view(case_id)
    assert view.case.status == "active" and [t.element_id for t in view.tasks] == ["Task_mediate"]
    assert '"material_noted":true' in view.case.state and '"reminded":true' in view.case.state


def test_an_interrupting_event_sub_process_is_refused_with_its_start_event():
    content = foreign("event_subprocess.bpmn").content.replace(b'isInterrupting="false"', b"", 1)
    with pytest.raises(DefinitionInvalid) as info:
        compile_bundle([SourceFile("e.bpmn", content)], [], ROLES.resolve)
    assert [(i.element_id, i.line) for i in info.value.issues] == [("Event_material_added", 20)]


def test_a_vendor_export_runs_as_drawn(svc, verify_all_cases):
    deploy_foreign(svc, "signavio_vendor.bpmn")
    case_id = svc.cases.start("sid-neighbour-dispute", {}, "mediator", VILLAGE).case.id
    do(svc, case_id, "sid-visit", {"note": "已走访"}, role="village_mediator")
    view = svc.cases.view(case_id)
    assert view.case.status == "completed" and view.case.data["visited"] is True


# -- mutations ------------------------------------------------------------------------------------------------

VALID = [name for name, expected in EXPECTED.items() if isinstance(expected, list)]
VALUES = ["", "x", "Process_1", "start", "-1", "true", "false", "P3D", "${a}", "R/PT0S", "Flow_1", "1 / 0"]


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(VALID))
    root = etree.fromstring(foreign(name).content)
    for _ in range(draw(st.integers(1, 4))):
        nodes = [n for n in root.iter() if isinstance(n.tag, str)]
        node = draw(st.sampled_from(nodes))
        action = draw(st.sampled_from(["remove", "drop attribute", "set attribute", "set text", "copy"]))
        parent = node.getparent()
        if action == "remove" and parent is not None:
            parent.remove(node)
        elif action == "copy" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(node)))  # a duplicate id, say
        elif action in ("drop attribute", "set attribute") and node.attrib:
            key = draw(st.sampled_from(sorted(node.attrib)))
            if action == "drop attribute":
                del node.attrib[key]
            else:
                node.attrib[key] = draw(st.sampled_from(VALUES))
        elif action == "set text":
            node.text = draw(st.sampled_from(VALUES))
    return name, etree.tostring(root)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_no_mutation_of_a_valid_file_fails_deployment_any_other_way(case):
    name, content = case
    try:
        processes = compile_bundle([SourceFile(name, content)], [], ROLES.resolve)
    except DefinitionInvalid as exc:
        assert exc.issues and all(isinstance(i.message, str) and i.message for i in exc.issues)
        return
    for process in processes:  # what deployed must load as the registry loads it
        parser = build_parser(process.files)
        assert parser.get_spec(process.key) is not None
        parser.get_subprocess_specs(process.key)


@pytest.mark.parametrize("name", VALID)
def test_every_valid_file_loads_as_deployed(name):
    for process in compile_bundle([foreign(name)], [], ROLES.resolve):
        assert build_parser(process.files).get_spec(process.key).name == process.key


def test_a_process_without_id_is_named_by_its_line():
    content = foreign("collaboration_two_pools.bpmn").content.replace(
        b'<bpmn:process id="Process_town_review"', b'<bpmn:process')
    with pytest.raises(DefinitionInvalid) as info:
        compile_bundle([SourceFile("c.bpmn", content)], [], ROLES.resolve)
    assert [(i.element_id, i.line, i.message) for i in info.value.issues] == [(None, 34, "a process needs an id")]


def test_unreadable_references_are_named():
    content = foreign("collaboration_two_pools.bpmn").content.replace(
        b'messageRef="Message_answer" />', b'messageRef="Message_missing" />')
    with pytest.raises(DefinitionInvalid) as info:
        compile_bundle([SourceFile("c.bpmn", content)], [], ROLES.resolve)
    assert {(i.element_id, "Message_missing" in i.message) for i in info.value.issues} == {
        ("Event_answer_received", True), ("Event_send_answer", True)}


def test_corpus_files_are_well_formed_bpmn():
    for path in Path(FOREIGN).glob("*.bpmn"):
        root = etree.parse(str(path)).getroot()
        assert etree.QName(root).localname == "definitions", path

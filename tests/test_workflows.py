"""The bundled process library: it deploys cleanly and its paths run on a fake clock."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from cunliao.cli import SOURCE_SUFFIXES
from engine.cases import CaseView
from engine.models import Case, CaseTask

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = [p for d in ("workflows/bpmn", "workflows/forms", "workflows/documents") for p in sorted((ROOT / d).iterdir())
          if p.name.endswith(SOURCE_SUFFIXES)]
pytestmark = pytest.mark.usefixtures("verify_all_cases")

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"


def test_every_bundled_file_deploys_and_every_user_task_has_a_role_and_form(svc, library):
    assert "quick_mediation" in library
    with svc.db.read() as session:
        for key, deployed in library.items():
            loaded = svc.registry.load(session, deployed.id)
            for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
                for task_spec in spec.task_specs.values():
                    if getattr(task_spec, "manual", False):
                        assert svc.roles.resolve(task_spec.lane), (key, task_spec.name)
                        form_key, schema = loaded.form_for(task_spec)
                        assert schema is not None, (key, task_spec.name)
                        Draft202012Validator.check_schema(schema)


def _complete(svc, view, data, actor="tester"):
    [task] = view.tasks
    return svc.cases.complete_task(task.id, data, actor)


REGISTER = {"summary": "两户因排水沟堵塞争吵", "category": "邻里", "party_count": 2, "amount": 0,
            "escalation_signs": False}
MEDIATED = {"outcome": "达成协议", "record": "双方同意共同清理排水沟", "agreement_form": "口头"}


def test_quick_mediation_low_risk_on_the_spot_then_revisit(svc, library, clock):
    view = svc.cases.start("quick_mediation", {}, "grid", GRID)
    view = _complete(svc, view, REGISTER)
    assert view.case.data["risk"] == "low" and view.tasks[0].element_id == "on_spot"
    view = _complete(svc, view, MEDIATED)
    assert view.case.status == "waiting"
    clock.advance(days=7, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    with svc.db.read() as session:
        case = session.get(Case, view.case.id)
        tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == "ready")).all()
        view = CaseView(case, list(tasks))
    assert view.tasks[0].element_id == "revisit" and view.tasks[0].role == "grid_worker"
    view = _complete(svc, view, {"satisfaction": "满意", "performed": True})
    assert view.case.status == "completed"


def test_quick_mediation_high_risk_overdue_escalates_to_town(svc, library, clock):
    view = svc.cases.start("quick_mediation", {}, "grid", GRID)
    view = _complete(svc, view, {**REGISTER, "amount": 50000})
    [task] = view.tasks
    assert (task.element_id, task.role) == ("mediate", "village_mediator")
    clock.advance(days=30, seconds=1)
    assert svc.cases.fire_due_timers() == 0  # mediation_limit is one calendar month: 31 days from 2 March
    clock.advance(days=1)
    assert svc.cases.fire_due_timers() == 1
    with svc.db.read() as session:
        ready = session.scalars(select(CaseTask).where(CaseTask.state == "ready")).all()
    assert [(t.element_id, t.role) for t in ready] == [("escalate", "town_officer")]


@pytest.mark.parametrize("path", sorted((ROOT / "workflows" / "forms").glob("*.schema.json")), ids=lambda p: p.name)
def test_every_form_validates_its_own_example(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema.get("examples"), f"{path.name} has no example"
    for example in schema["examples"]:
        errors = list(Draft202012Validator(schema).iter_errors(example))
        assert not errors, (path.name, [e.message for e in errors])
    assert all("title" in field for field in schema.get("properties", {}).values()), f"{path.name}: a field has no title"


DI_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
         "dc": "http://www.omg.org/spec/DD/20100524/DC"}
DRAWN = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "task",
         "userTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask",
         "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
         "eventBasedGateway", "lane", "sequenceFlow")


@pytest.mark.parametrize("path", sorted((ROOT / "workflows" / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_every_element_is_drawn_named_and_shapes_do_not_overlap(path):
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    drawn = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", DI_NS)} | \
            {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", DI_NS)}
    elements = [e for tag in DRAWN for e in root.iterfind(f".//bpmn:{tag}", DI_NS)]
    assert not [e.get("id") for e in elements if e.get("id") not in drawn], "elements without a shape or edge"
    unnamed = [e.get("id") for e in elements if etree.QName(e).localname in ("userTask", "scriptTask", "callActivity",
                                                                                  "businessRuleTask", "subProcess")
               and not (e.get("name") or "").strip()]
    assert not unnamed, f"tasks without a Chinese name: {unnamed}"
    boxes = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", DI_NS):
        bounds = shape.find("dc:Bounds", DI_NS)
        boxes[shape.get("bpmnElement")] = tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))
    kind = {e.get("id"): etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    children = {e.get("id"): {c.get("id") for c in e.iter() if isinstance(c.tag, str) and c.get("id")}
                for e in root.iterfind(".//bpmn:subProcess", DI_NS)}
    attached = {e.get("id"): e.get("attachedToRef") for e in root.iterfind(".//bpmn:boundaryEvent", DI_NS)}
    flat = [k for k in boxes if kind.get(k) not in ("lane", "participant", "process")]
    overlaps = []
    for i, a in enumerate(flat):
        for b in flat[i + 1:]:
            if a in children.get(b, ()) or b in children.get(a, ()) or attached.get(a) == b or attached.get(b) == a:
                continue
            ax, ay, aw, ah = boxes[a]
            bx, by, bw, bh = boxes[b]
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                overlaps.append((a, b))
    assert not overlaps, f"overlapping shapes: {overlaps}"

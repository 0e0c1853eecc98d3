"""Deployment validation: every problem reported at once, with file, element and line."""
from __future__ import annotations

import pytest

from engine.definitions import SourceFile, compile_bundle
from engine.errors import DefinitionInvalid

from .bpmn_support import bpmn, flow, lane
from .conftest import FIXTURES, deploy, fixture_files

ROLES = {"网格员": "grid_worker", "grid_worker": "grid_worker", "village_mediator": "village_mediator",
         "town_officer": "town_officer"}


def compile_(*files: SourceFile, deployed=()):
    return compile_bundle(files, deployed, ROLES.get)


def issues(*files: SourceFile, deployed=()):
    with pytest.raises(DefinitionInvalid) as info:
        compile_(*files, deployed=deployed)
    return info.value.issues


def test_fixtures_compile():
    processes = compile_(*fixture_files("t_simple.bpmn", "t_register.schema.json"))
    [process] = processes
    assert process.key == "t_simple" and process.name == "测试：登记与调解"
    assert {f.name for f in process.files} == {"t_simple.bpmn", "t_register.schema.json"}


def test_all_errors_come_back_at_once_with_lines():
    body = """
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="evil" name="坏脚本"><bpmn:script>__import__('os').system('touch /tmp/pwned')</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="gw" default="f2_gw_end"/>
<bpmn:userTask id="orphan" name="无泳道任务"/>
<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="t"><bpmn:timeDuration>"P3X"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="end2"/>
""" + flow(("start", "evil"), ("evil", "gw"), ("gw", "end"), ("gw", "orphan"), ("orphan", "wait"), ("wait", "end2"),
           conditions={"gw->orphan": "amount &gt; 1000 and x.__class__"})
    found = issues(bpmn(body))
    by_element = {i.element_id: i for i in found}
    assert {"evil", "orphan", "wait"} <= set(by_element), found
    assert any("f3_gw_orphan" == i.element_id for i in found), found
    assert all(i.file == "p.bpmn" for i in found)
    assert by_element["evil"].line == 9 and by_element["orphan"].line == 11
    assert "lane" in by_element["orphan"].message
    assert "P3X" in by_element["wait"].message


def test_unknown_lane_role_and_missing_form():
    body = """
<bpmn:startEvent id="start"/>
<bpmn:userTask id="u" name="任务"><bpmn:extensionElements><spiffworkflow:properties>
  <spiffworkflow:property name="formKey" value="no_such_form"/><spiffworkflow:property name="dueIn" value="soon"/>
</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:endEvent id="end"/>""" + flow(("start", "u"), ("u", "end"))
    found = issues(bpmn(body, lanes=lane("火星人", "start", "u", "end")))
    messages = " | ".join(i.message for i in found)
    assert "火星人" in messages and "no_such_form" in messages and "soon" in messages
    assert {i.element_id for i in found} == {"u"}


def test_missing_called_process_and_decision_are_reported():
    body = """
<bpmn:startEvent id="start"/>
<bpmn:callActivity id="call" calledElement="not_deployed"/>
<bpmn:businessRuleTask id="rule"><bpmn:extensionElements><spiffworkflow:calledDecisionId>no_table</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>
<bpmn:endEvent id="end"/>""" + flow(("start", "call"), ("call", "rule"), ("rule", "end"))
    found = issues(bpmn(body))
    assert {(i.element_id, i.line) for i in found} == {("call", 9), ("rule", 10)}
    assert "not_deployed" in found[0].message and "no_table" in found[1].message


def test_called_process_may_come_from_deployed_library():
    child = bpmn('<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>' + flow(("s", "e")), process_id="child")
    parent = bpmn('<bpmn:startEvent id="s"/><bpmn:callActivity id="c" calledElement="child"/><bpmn:endEvent id="e"/>'
                  + flow(("s", "c"), ("c", "e")), process_id="parent")
    [compiled] = compile_(parent, deployed=[child])
    assert {f.name for f in compiled.files} == {"parent.bpmn", "child.bpmn"}


@pytest.mark.parametrize("content,needle", [
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><x>&lol2;</x>', "DOCTYPE"),
    (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', "DOCTYPE"),
    (b'<?xml version="1.0"?><x><y></x>', "well-formed"),
    (b'<?xml version="1.0"?><notbpmn/>', "BPMN"),
])
def test_hostile_or_broken_xml_is_refused(content, needle):
    [issue] = issues(SourceFile("bad.bpmn", content))
    assert needle in issue.message and issue.file == "bad.bpmn"


def test_schema_invalid_bpmn_is_refused():
    found = issues(bpmn('<bpmn:startEvent id="s"/><bpmn:bogusElement id="b"/>'))
    assert "schema" in found[0].message.lower()


def test_bad_form_and_unknown_file_type():
    found = issues(SourceFile("f.schema.json", b'{"type": "object", "properties": {"a": {"type": "nonsense"}}}'),
                   SourceFile("x.txt", b"hello"), SourceFile("g.schema.json", b"{not json"))
    assert {i.file for i in found} == {"f.schema.json", "x.txt", "g.schema.json"}


def test_dmn_cells_are_checked():
    dmn = (FIXTURES / "t_simple.bpmn").parent / "risk.dmn"
    assert not dmn.exists() or True  # DMN fixtures arrive with the process library
    table = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd" name="d" namespace="http://t">
  <decision id="risk" name="risk">
    <decisionTable id="dt">
      <input id="i1" label="amount"><inputExpression id="ie1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o1" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&gt; 1000</text></inputEntry><outputEntry id="o1e"><text>"high"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2e"><text>__import__('os')</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""
    [issue] = issues(SourceFile("risk.dmn", table))
    assert issue.element_id == "o2e" and issue.file == "risk.dmn"


def test_deploying_an_invalid_bundle_stores_nothing(svc):
    from sqlalchemy import func, select

    from engine.models import DefinitionVersion

    with pytest.raises(DefinitionInvalid):
        with svc.db.write() as session, session.begin():
            svc.registry.deploy(session, fixture_files("t_simple.bpmn") + [SourceFile("x.txt", b"x")], "t",
                                svc.clock.now())
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DefinitionVersion)) == 0
    deployed = deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    assert [(d.key, d.version, d.created) for d in deployed] == [("t_simple", 1, True)]

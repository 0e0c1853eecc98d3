"""The assignment model: where a ready task goes (engine/assignment.py), and bad expressions are
modelling errors at deploy."""
from __future__ import annotations

import pytest

from engine.assignment import Assignment, problem, resolve

from .bpmn_support import bpmn, flow, lane
from .test_definitions import issues

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


@pytest.mark.parametrize("props,area,data,level,expected", [
    ({}, GRID, {}, "grid", Assignment(GRID)),                                   # the role's level by default
    ({}, GRID, {}, "village", Assignment(VILLAGE)),
    ({}, GRID, {}, "town", Assignment("/macheng/songbu/")),
    ({}, GRID, {}, "department", Assignment("/macheng/")),                      # any department, or 指派
    ({}, VILLAGE, {}, "grid", Assignment(VILLAGE)),                             # no grid known: the village
    ({"assign": "case.grid, unit.u"}, VILLAGE, {"u": "/macheng/minzheng/"}, "grid", Assignment("/macheng/minzheng/")),
    ({"assign": "case.grid, unit.u"}, GRID, {"u": VILLAGE}, "grid", Assignment(GRID)),
    ({"unitVariable": "dept"}, GRID, {"dept": "/macheng/fulian/"}, "department", Assignment("/macheng/fulian/")),
    ({"assign": "unit.dept, case.city"}, GRID, {"dept": "not a path"}, "department", Assignment("/macheng/")),
    ({"assign": "person.leader, case.city"}, GRID, {"leader": "leader"}, "city", Assignment("/macheng/", "leader")),
    ({"assign": "person.leader, case.city"}, GRID, {}, "city", Assignment("/macheng/")),
    ({"assign": "case.area"}, GRID, {}, "town", Assignment(GRID)),
    ({"assign": "case.town, unit.u@town"}, "/macheng/", {"u": VILLAGE}, "town", Assignment("/macheng/songbu/")),
])
def test_resolve(props, area, data, level, expected):
    assert resolve(props, area, data, level) == expected


@pytest.mark.parametrize("value", ["case.street", "unit.", "person.a b", "unit.u@street", "person.p@town", "case.grid;drop", "__import__('os')", " "])
def test_bad_expressions_are_named(value):
    assert problem({"assign": value})


def test_a_bad_assignment_expression_is_a_modelling_error_at_deploy():
    body = """
<bpmn:startEvent id="start"/>
<bpmn:userTask id="u" name="核查"><bpmn:extensionElements><spiffworkflow:properties>
  <spiffworkflow:property name="assign" value="case.street"/>
</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:endEvent id="end"/>""" + flow(("start", "u"), ("u", "end"))
    found = issues(bpmn(body, lanes=lane("网格员", "start", "u", "end")))
    assert [i.element_id for i in found] == ["u"] and "case.street" in found[0].message

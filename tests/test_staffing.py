"""Every lane role of every bundled process has a demo login in every grid, village or town where the role
sits, and every department has a liaison: every demo village can run every path with the README's logins."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from api.core.services import RoleCatalogue
from api.people.seed import DEMO_TREE, DEMO_USERS

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CATALOGUE = RoleCatalogue.load(type("S", (), {"workflows_dir": WORKFLOWS})())


def _units(node, parent=None, out=None):
    out = {} if out is None else out
    code, _, kind, children = node
    out[code] = (kind, parent)
    for child in children:
        _units(child, code, out)
    return out


UNITS = _units(DEMO_TREE)
TOWNS = [code for code, (kind, _) in UNITS.items() if kind == "town"]


def _town_of(code: str) -> str | None:
    while code is not None:
        kind, parent = UNITS[code]
        if kind == "town":
            return code
        code = parent
    return None


def lane_roles() -> set[str]:
    roles = set()
    for path in sorted((WORKFLOWS / "bpmn").glob("*.bpmn")):
        for lane in etree.parse(str(path)).iter(f"{BPMN}lane"):
            roles.add(CATALOGUE.resolve(lane.get("name")))
    return roles


@pytest.mark.parametrize("role", sorted(lane_roles()))
def test_every_lane_role_has_a_login_where_it_sits(role):
    holders = [(user, unit) for user, _, unit, roles in DEMO_USERS if role in roles]
    level = CATALOGUE.level(role)
    if level in ("grid", "village"):   # a case in any grid or village reaches a person of this role
        units = {code for code, (kind, _) in UNITS.items() if kind == level}
        assert {unit for _, unit in holders} >= units, f"{role}: a login in every {level}"
    elif level == "town":
        assert {_town_of(unit) for _, unit in holders} >= set(TOWNS), f"{role}: a login in each town"
    else:
        assert holders, f"{role}: no demo login"


def test_every_department_has_a_liaison():
    departments = {code for code, (kind, _) in UNITS.items() if kind == "department"}
    staffed = {unit for _, _, unit, roles in DEMO_USERS if "department_liaison" in roles}
    assert departments <= staffed


def test_the_readme_lists_every_demo_login():
    readme = (WORKFLOWS.parent / "README.md").read_text(encoding="utf-8")
    assert all(f"| `{user}` |" in readme for user, *_ in DEMO_USERS)

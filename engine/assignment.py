"""Who a user task goes to: the (role, unit) it is offered to, and a named person, worked out from
the case when the task becomes ready.

The role is the lane's. The unit comes from the task's ``assign`` property, a comma-separated list of
terms tried in order (the first unit term that resolves wins; a ``person.`` term names the holder):

* ``case.grid``, ``case.village``, ``case.town``, ``case.city``: that level of the case's area (a
  grid case lies in a village, a town and the city; a village case has no grid);
* ``case.area``: the case's area as it is;
* ``unit.<variable>``: a unit path held in a data variable (a department a whistle went to);
  ``unit.<variable>@town`` (or ``@village``, ``@grid``, ``@city``): that level of it (the town of
  the village a lead names, where its 派出所 sits);
* ``person.<variable>``: the username held in a data variable (the leader named for 包案): the
  task is given to that person directly.

Without an ``assign`` property (or when no term resolves) the unit is the level of the case's area
where the lane's role sits (roles.json ``level``), else the case's area. The legacy ``unitVariable``
property is read as a first ``unit.`` term.

Unit paths are built from codes, one segment per level (``/city/town/village/grid/``), so the levels
of an area are its path prefixes; the engine needs no organisation table for this.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

LEVEL_DEPTH = {"city": 1, "town": 2, "village": 3, "grid": 4}
_TERM = re.compile(r"^(case)\.(grid|village|town|city|area)$|^(person)\.([A-Za-z_][A-Za-z0-9_]{0,99})$"
                   r"|^(unit)\.([A-Za-z_][A-Za-z0-9_]{0,99})(@(grid|village|town|city))?$")


@dataclass(frozen=True)
class Assignment:
    unit: str
    person: str | None = None


def terms(props: dict[str, str]) -> list[str]:
    """The assignment terms of a task, ``unitVariable`` first."""
    found = [f"unit.{props['unitVariable'].strip()}"] if props.get("unitVariable", "").strip() else []
    return found + [t.strip() for t in (props.get("assign") or "").split(",") if t.strip()]


def problem(props: dict[str, str]) -> str | None:
    """Why a task's assignment expression is wrong (a modelling error), or None."""
    if "assign" in props and not (props.get("assign") or "").strip():
        return "assign is empty; write e.g. case.grid, unit.dept or person.leader"
    for term in terms(props):
        if not _TERM.match(term):
            return (f"assign term '{term}' is not one of case.grid, case.village, case.town, case.city, "
                    "case.area, unit.<variable>, unit.<variable>@town (or @grid, @village, @city), person.<variable>")
    return None


def resolve(props: dict[str, str], area: str, data: dict[str, Any], role_level: str | None) -> Assignment:
    """The unit and person a ready task goes to (see the module docstring)."""
    unit = person = None
    for term in terms(props):
        kind, _, name = term.partition(".")
        if kind == "person" and person is None:
            value = data.get(name)
            person = value.strip() if isinstance(value, str) and value.strip() else None
        elif unit is None and kind == "unit":
            name, _, level = name.partition("@")
            unit = _unit_value(data.get(name))
            unit = level_of(unit, level) if unit and level else unit
        elif unit is None and kind == "case":
            unit = area if name == "area" else level_of(area, name)
    # A department's people sit beside the areas: without a named department the task goes to the
    # city, where any holder of the role may take it (or a centre user 指派s it to one department).
    level = "city" if role_level == "department" else role_level
    if unit is None and level in LEVEL_DEPTH:
        unit = level_of(area, level)
    return Assignment(unit or area, person)


def level_of(area: str, level: str) -> str | None:
    """The unit of a given level that an area lies in (None when the area is above that level)."""
    parts = [p for p in (area or "").split("/") if p]
    depth = LEVEL_DEPTH[level]
    return "/" + "/".join(parts[:depth]) + "/" if len(parts) >= depth else None


def _unit_value(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith("/") and value.endswith("/") else None


RoleLevel = Callable[[str], str | None]

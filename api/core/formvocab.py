"""The form vocabulary: what a form (a JSON Schema in workflows/forms/) may say beyond JSON Schema
to be fed by the organisation and to show the facts a step decides on.

* ``x-options`` on a string field (or on an array's ``items``) names where its choices come from:
  ``{"source": "units", "kind": "town"|"village"|"grid", "within": …}`` (value: the unit's path),
  ``{"source": "departments", "within": …, "territorial": true}`` (value: the department's path;
  ``territorial`` also offers the town government as 属地兜底), ``{"source": "people", "role": …,
  "within": …}`` (value: the username of an active user holding the role) and ``{"source":
  "categories"}`` (the catalogue workflows/categories.json). ``within`` is ``case`` (units around
  the case: above it and below it), ``user`` (the signed-in user's jurisdiction) or ``all``.
* ``x-default`` on a field: ``current_user``, ``today``, ``now``, ``case_village`` or
  ``case_town`` — the value the form starts with.
* ``x-facts`` at the top of a form: a list of ``{"title", "from", "show", "labels"}``, shown
  read-only above the fields. ``from`` is a case data path (``whistle.requested_action``), or
  ``task:unit``, ``task:due_at``, ``step:<element id>:by`` / ``step:<element id>:at`` (who did
  an earlier step, and when). ``show`` says how to write the value (see SHOWS).

``form_problems`` is the deploy-time check: an unknown source, kind, scope, default or fact is a
modelling error, reported with the field's path like any other.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

SOURCES = ("units", "departments", "people", "categories")
UNIT_KINDS = ("town", "village", "grid")
SCOPES = ("case", "user", "all")
DEFAULTS = ("current_user", "today", "now", "case_village", "case_town")
SHOWS = ("text", "unit", "units", "person", "date", "datetime", "yesno", "list")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_STEP = re.compile(r"^step:[A-Za-z_][A-Za-z0-9_.-]*:(by|at)$")
TASK_FACTS = ("task:unit", "task:due_at")


def fields(schema: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every field schema under an object schema with its dotted path (array items as ``name[]``)."""
    if not isinstance(schema, dict):
        return
    for name, field in (schema.get("properties") or {}).items():
        if not isinstance(field, dict):
            continue
        here = f"{path}.{name}" if path else name
        yield here, field
        yield from fields(field, here)
        items = field.get("items")
        if isinstance(items, dict):
            yield f"{here}[]", items
            yield from fields(items, f"{here}[]")


def form_problems(schema: dict, role_known: Callable[[str], bool] = lambda _: True) -> list[str]:
    """The vocabulary mistakes of a form, each naming the field (empty when it has none)."""
    problems = []
    for path, field in fields(schema):
        if "x-options" in field:
            problems += [f"field '{path}': {p}" for p in _options_problems(field, role_known)]
        listed = [str(v) for v in field.get("enum") or [] if _unit_path(v)] + [
            str(o["const"]) for o in field.get("oneOf") or [] if isinstance(o, dict) and _unit_path(o.get("const"))]
        if listed:
            problems.append(f"field '{path}' lists units ({', '.join(listed[:3])}…): name them with x-options, "
                            "so a new town, village or department needs no new form")
        if "x-default" in field and field["x-default"] not in DEFAULTS:
            problems.append(f"field '{path}': x-default '{field['x-default']}' is not one of {', '.join(DEFAULTS)}")
    problems += _facts_problems(schema.get("x-facts"))
    return problems


def _unit_path(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 2 and value.startswith("/") and value.endswith("/")


def _options_problems(field: dict, role_known: Callable[[str], bool]) -> list[str]:
    options = field["x-options"]
    if not isinstance(options, dict) or options.get("source") not in SOURCES:
        source = options.get("source") if isinstance(options, dict) else options
        return [f"x-options source '{source}' is unknown: use one of {', '.join(SOURCES)}"]
    problems = []
    if field.get("type") != "string":
        problems.append('x-options needs a "type": "string" field (put it on an array\'s items)')
    if "enum" in field or "oneOf" in field:
        problems.append("x-options replaces enum and oneOf: keep only one of them")
    source = options["source"]
    allowed = {"units": {"source", "kind", "within"}, "departments": {"source", "within", "territorial"},
               "people": {"source", "role", "within"}, "categories": {"source"}}[source]
    unknown = sorted(set(options) - allowed)
    if unknown:
        problems.append(f"x-options of source '{source}' takes {', '.join(sorted(allowed))}, not {', '.join(unknown)}")
    if source == "units" and options.get("kind") not in UNIT_KINDS:
        problems.append(f"x-options kind '{options.get('kind')}' is unknown: use one of {', '.join(UNIT_KINDS)}")
    if source == "people" and not (isinstance(options.get("role"), str) and role_known(options["role"])):
        problems.append(f"x-options role '{options.get('role')}' is not a known role (workflows/roles.json)")
    if source != "categories" and options.get("within", "case") not in SCOPES:
        problems.append(f"x-options within '{options.get('within')}' is unknown: use one of {', '.join(SCOPES)}")
    return problems


def _facts_problems(facts: Any) -> list[str]:
    if facts is None:
        return []
    if not isinstance(facts, list):
        return ["x-facts must be a list of {title, from, show}"]
    problems = []
    for number, fact in enumerate(facts, 1):
        if not isinstance(fact, dict) or not isinstance(fact.get("title"), str) or not isinstance(fact.get("from"), str):
            problems.append(f"x-facts #{number}: needs a title and a from")
            continue
        source = fact["from"]
        if not (_PATH.match(source) or _STEP.match(source) or source in TASK_FACTS):
            problems.append(f"x-facts #{number} ({fact['title']}): from '{source}' is neither a data path "
                            f"nor {', '.join(TASK_FACTS)} nor step:<element id>:by|at")
        if fact.get("show", "text") not in SHOWS:
            problems.append(f"x-facts #{number} ({fact['title']}): show '{fact.get('show')}' is not one of {', '.join(SHOWS)}")
        if "labels" in fact and not isinstance(fact["labels"], dict):
            problems.append(f"x-facts #{number} ({fact['title']}): labels must map values to words")
    return problems

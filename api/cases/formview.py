"""A task's form as the person at it sees it: choices from the organisation (``x-options``), values
to start with (``x-default``) and the facts the step decides on (``x-facts``), all resolved for
this task, this case and this user (api/core/formvocab.py describes the vocabulary). The server
checks a submitted value against the very choices it offered (``option_errors``), so a form
cannot be answered with a unit, department or person it did not offer."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.categories import Categories
from api.core.formvocab import fields
from api.core.models import OrgUnit, User, UserRole
from api.core.services import services
from engine.clock import CHINA, parse_instant
from engine.models import Case, CaseTask

SOURCE_WORDS = {"units": "可选的单位", "departments": "可选的部门", "people": "可选的人员", "categories": "纠纷类型目录"}


@dataclass
class Context:
    """Who fills the form, for which case and task, and now."""

    session: Session
    username: str
    display_name: str
    unit_path: str
    case: Case | None  # None on a start form: "the case's area" is then the user's
    categories: Categories
    now: datetime
    task: CaseTask | None = None
    task_data: dict[str, Any] | None = None
    events: list = field(default_factory=list)
    _units: list[OrgUnit] | None = None

    @property
    def area(self) -> str:
        return (self.case.jurisdiction if self.case is not None else self.unit_path) or "/"

    def units(self) -> list[OrgUnit]:
        if self._units is None:
            self._units = list(self.session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        return self._units


# -- options -------------------------------------------------------------------------------------

def options(spec: dict, ctx: Context) -> list[tuple[str, str]]:
    """(value, title) of every choice an ``x-options`` spec offers here."""
    source = spec["source"]
    if source == "categories":
        return [(name, name) for name in ctx.categories.names]
    scope = {"case": ctx.area, "user": ctx.unit_path, "all": "/"}[spec.get("within", "case")]
    if source == "units":
        return [(u.path, u.name) for u in ctx.units() if u.kind == spec["kind"] and _related(u.path, scope)]
    if source == "departments":
        chosen = [(u.path, u.name) for u in ctx.units() if u.kind == "department" and _department_near(u.path, scope)]
        if spec.get("territorial"):
            chosen += [(u.path, f"{u.name}（属地兜底）") for u in ctx.units() if u.kind == "town" and _related(u.path, scope)]
        return chosen
    return _people(spec["role"], scope, ctx)


def _related(path: str, scope: str) -> bool:
    """A unit above the scope (its town, its city) or within it."""
    return path.startswith(scope) or scope.startswith(path)


def _department_near(path: str, scope: str) -> bool:
    """A department within the scope, or one of a unit above the scope (the city's, the town's)."""
    parent = path[: path.rstrip("/").rfind("/") + 1]
    return path.startswith(scope) or scope.startswith(parent)


def _people(role: str, scope: str, ctx: Context) -> list[tuple[str, str]]:
    code = services().roles.resolve(role) or role
    rows = ctx.session.execute(
        select(User.username, User.display_name, OrgUnit.path, OrgUnit.name).join(OrgUnit, OrgUnit.id == User.unit_id)
        .join(UserRole, UserRole.user_id == User.id).where(UserRole.role_code == code, User.active.is_(True))
        .order_by(OrgUnit.path, User.username)).all()
    return [(username, f"{name}（{unit}）") for username, name, path, unit in rows if _related(path, scope)]


def resolved_form(schema: dict | None, ctx: Context) -> tuple[dict | None, dict[str, list[dict]]]:
    """A copy of the form with each ``x-options`` field's choices as ``oneOf`` and each
    ``x-default`` as ``default``; and the choices by field path."""
    if schema is None:
        return None, {}
    out = copy.deepcopy(schema)
    offered: dict[str, list[dict]] = {}
    for path, spec in fields(out):
        if isinstance(spec.get("x-options"), dict):
            choices = options(spec["x-options"], ctx)
            offered[path] = [{"value": v, "title": t} for v, t in choices]
            if choices:
                spec["oneOf"] = [{"const": v, "title": t} for v, t in choices]
            else:
                spec["enum"] = []  # nothing to choose from here: the field cannot be answered
        default = _default(spec, ctx, offered.get(path))
        if default is not None:
            spec["default"] = default
    return out, offered


def _default(spec: dict, ctx: Context, offered: list[dict] | None) -> str | None:
    kind = spec.get("x-default")
    if kind is None:
        return None
    source = (spec.get("x-options") or {}).get("source")
    local = ctx.now.astimezone(CHINA)
    if kind == "today":
        value = local.date().isoformat()
    elif kind == "now":
        value = local.replace(second=0, microsecond=0).isoformat()
    elif kind == "current_user":
        value = ctx.username if source == "people" else ctx.display_name
    else:
        unit = _enclosing(ctx, "village" if kind == "case_village" else "town")
        value = None if unit is None else unit.path if source == "units" else unit.name
    if offered is not None and value not in {o["value"] for o in offered}:
        return None
    return value


def _enclosing(ctx: Context, kind: str) -> OrgUnit | None:
    return next((u for u in ctx.units() if u.kind == kind and ctx.area.startswith(u.path)), None)


# -- checking ------------------------------------------------------------------------------------

def option_errors(schema: dict | None, data: dict[str, Any], ctx: Context) -> dict[str, str]:
    """Field path → a message in Chinese, for every submitted value the form did not offer."""
    errors: dict[str, str] = {}
    for path, spec in fields(schema or {}):
        if not isinstance(spec.get("x-options"), dict):
            continue
        allowed = None
        for where, value in _values_at(data, path):
            if value is None:
                continue
            if allowed is None:
                allowed = {v for v, _ in options(spec["x-options"], ctx)}
            if not isinstance(value, str) or value not in allowed:  # a list or object is no choice either
                words = SOURCE_WORDS[spec["x-options"]["source"]]
                errors[where] = f"“{spec.get('title') or path}”不能选“{value}”：它不在本任务{words}之中"
    return errors


def _values_at(data: Any, path: str, where: str = "") -> Iterator[tuple[str, Any]]:
    """(concrete path, value) of every value a field path (``a.b[]``) reaches in the data."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if not isinstance(data, dict) or name not in data:
        return
    here = f"{where}.{name}" if where else name
    values = [(f"{here}.{i}", item) for i, item in enumerate(data[name])] if many and isinstance(data[name], list) \
        else [(here, data[name])]
    for at, value in values:
        if rest:
            yield from _values_at(value, rest, at)
        else:
            yield at, value


# -- facts ---------------------------------------------------------------------------------------

def facts(schema: dict | None, ctx: Context) -> list[dict[str, str]]:
    """The form's ``x-facts``, each written out for this task: [{title, value}] ("—" when unknown)."""
    out = []
    for fact in (schema or {}).get("x-facts") or []:
        value = _fact_value(fact["from"], ctx)
        out.append({"title": fact["title"], "value": _show(value, fact, ctx)})
    return out


def _fact_value(source: str, ctx: Context) -> Any:
    if source == "task:unit":
        return ctx.task.jurisdiction if ctx.task else None
    if source == "task:due_at":
        return ctx.task.due_at.isoformat() if ctx.task and ctx.task.due_at else None
    if source.startswith("step:"):
        _, element_id, what = source.split(":")
        done = [e for e in ctx.events if e.type == "task_completed"
                and (e.payload.get("task") or {}).get("element_id") == element_id]
        if not done:
            return None
        return done[-1].actor if what == "by" else done[-1].at.isoformat()
    value: Any = ctx.task_data if ctx.task_data is not None else ((ctx.case.data if ctx.case else None) or {})
    for part in source.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _show(value: Any, fact: dict, ctx: Context) -> str:
    if value is None or value == "" or value == []:
        return "—"
    show, labels = fact.get("show", "text"), fact.get("labels") or {}
    if show == "yesno":
        return "是" if value else "否"
    if show in ("unit", "units"):
        names = {u.path: u.name for u in ctx.units()}
        items = value if isinstance(value, list) else [value]
        return "、".join(names.get(str(v), str(v)) for v in items)
    if show == "person":
        name = ctx.session.scalar(select(User.display_name).where(User.username == str(value)))
        return name or str(value)
    if show in ("date", "datetime"):
        if show == "date" and "T" not in str(value):
            return str(value)
        try:
            local = parse_instant(str(value)).astimezone(CHINA)
        except ValueError:
            return str(value)
        return local.strftime("%Y-%m-%d" if show == "date" else "%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return "、".join(str(labels.get(str(v), v)) for v in value)
    return str(labels.get(str(value), value))

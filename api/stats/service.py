"""Statistics (统计): the KPIs of docs/statistics.md and the safety ratings (平安村(社区) / 平安乡镇).

Everything is one SQL aggregate over the per-case facts of ``facts.py``: the outer query sums them
per group (per jurisdiction for towns and villages, whose sums Python adds up by unit: ``_by_unit``).
Python only adds and divides the sums and names the groups; it never walks cases.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.core import categories
from api.core.auth import Principal
from api.core.models import OrgUnit, User
from api.core.org import like_prefix
from api.core.problems import ApiProblem
from api.core.scope import ancestors

from . import screening
from .facts import (CHANNEL_NAMES, COUNTS, GROUPINGS, RATES, UNKNOWN_LABELS, Filters, day_start, facts,  # noqa: F401
                    period_filters, window)

# --- KPIs ---------------------------------------------------------------------------------------

def _with_rates(sums: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {name: int(sums.get(name) or 0) for name in COUNTS if name != "screened"}
    out["screened"] = out["cases"] + out["leads"]
    for rate, (numerator, denominator) in RATES.items():
        out[rate] = round(out[numerator] / out[denominator], 4) if out[denominator] else None
    seconds = sums.get("one_key_seconds")
    out["one_key_response_seconds"] = round(float(seconds), 1) if seconds is not None else None
    return out


def _mean(sums: dict[str, Any]) -> dict[str, Any]:
    n = int(sums.get("seconds_n") or 0)
    return {**sums, "one_key_seconds": (float(sums["seconds_sum"]) / n) if n else None}


def kpis(session: Session, principal: Principal, filters: Filters, now: datetime,
         group_by: str | None = None) -> dict[str, Any]:
    """``{totals, groups: [{key, label, ...}]}`` for the caller's jurisdiction."""
    by_unit = group_by in ("town", "village")
    rows = facts(principal, filters, now, session.get_bind().dialect.name, "jurisdiction" if by_unit else group_by)
    counts = [name for name in COUNTS if name != "screened"]
    sums = [func.coalesce(func.sum(rows.c[name]), 0).label(name) for name in counts]
    # The mean response of the answered one-key calls, weighted back into a sum so groups add up.
    answered = [func.sum(rows.c.one_key_seconds).label("seconds_sum"), func.count(rows.c.one_key_seconds).label("seconds_n")]
    if not group_by:
        return {"totals": _with_rates(_mean(session.execute(select(*sums, *answered)).one()._asdict())), "groups": []}
    if by_unit:
        rows = [_mean(row) for row in _by_unit(session, rows, group_by, [*sums, *answered])]
    else:
        key = rows.c[group_by]
        rows = [_mean(row._asdict()) for row in session.execute(select(key.label("key"), *sums, *answered)
                                                                .group_by(key))]
    # Every group is a disjoint set of cases, so the totals are the groups' sums (one query, not two).
    totals = _with_rates(_mean({name: sum(row[name] or 0 for row in rows) for name in (*counts, "seconds_sum", "seconds_n")}))
    labels = _labels(session, group_by)
    # Sorted here (a handful of groups) so that "none" comes last on every database; categories in
    # the catalogue's order, then words it does not know.
    rank = {name: i for i, name in enumerate(categories.current().names)} if group_by == "category" else {}
    groups = [{"key": row["key"], "label": labels(row["key"]), **_with_rates(row)}
              for row in sorted(rows, key=lambda row: (row["key"] is None, rank.get(row["key"], len(rank)),
                                                       row["key"] or ""))]
    return {"totals": totals, "groups": groups}


def _by_unit(session: Session, rows, kind: str, sums: list) -> list[dict[str, Any]]:
    """The sums per town or village: SQL sums per jurisdiction (a few thousand paths at most), and
    each path's sums are added to the unit of ``kind`` above it here. Finding that unit in SQL was
    a lookup in org_units per counted case (a city's year: 10,000 lookups, docs/performance.md
    "Full size")."""
    units = set(session.scalars(select(OrgUnit.path).where(OrgUnit.kind == kind)))
    grouped: dict[str | None, dict[str, Any]] = {}
    for row in session.execute(select(rows.c.jurisdiction.label("key"), *sums).group_by(rows.c.jurisdiction)):
        row = row._asdict()
        key = next((path for path in ancestors(row.pop("key") or "") if path in units), None)
        total = grouped.setdefault(key, {"key": key})
        for name, value in row.items():
            total[name] = value if total.get(name) is None else total[name] + (value or 0)
    return list(grouped.values())


def _labels(session: Session, group_by: str):
    if group_by in ("town", "village"):
        names = dict(session.execute(select(OrgUnit.path, OrgUnit.name).where(OrgUnit.kind == group_by)).all())
    elif group_by == "channel":
        names = CHANNEL_NAMES
    elif group_by == "first_handler":  # by person: the 首办负责人's name
        names = dict(session.execute(select(User.username, User.display_name)).all())
    else:
        names = {}
    return lambda key: UNKNOWN_LABELS[group_by] if key is None else names.get(key, key)


def area_path(session: Session, principal: Principal, area: str | None) -> str | None:
    """A unit code or path of the caller's area, as a path; 404 outside it (or unknown)."""
    if not area:
        return None
    unit = session.scalars(select(OrgUnit).where(or_(OrgUnit.code == area, OrgUnit.path == area))).first()
    if unit is None or not principal.covers(unit.path):
        raise ApiProblem(404, f"area {area!r} does not exist or is outside your jurisdiction",
                         "所选区域不存在或不在您的管辖范围内")
    return unit.path


# --- safety ratings -----------------------------------------------------------------------------

OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
       ">": lambda a, b: a > b, "<": lambda a, b: a < b}
# screening_records: disputes and leads, census visits and joint screening lists (screening.py).
METRICS = set(COUNTS) | set(RATES) | {"screening_records"}
LEVELS = ("village", "town")


class RatingRulesInvalid(ValueError):
    """The rules file breaks its format; the message names the file, the place and the fault."""


def validate_rules(document: Any, source: str = "safety_ratings.json") -> list[dict[str, Any]]:
    """The versions of a rules document, oldest first; every fault found is listed at once."""
    faults: list[str] = []

    def need(condition: bool, where: str, what: str) -> bool:
        if not condition:
            faults.append(f"{where}: {what}")
        return condition

    versions = document.get("versions") if isinstance(document, dict) else None
    if need(isinstance(versions, list) and bool(versions), "versions", "a non-empty list is required"):
        seen = set()
        for i, version in enumerate(versions):
            where = f"versions[{i}]"
            if not need(isinstance(version, dict), where, "must be an object"):
                continue
            need(isinstance(version.get("version"), str) and version["version"] not in seen, f"{where}.version",
                 "a unique text is required")
            seen.add(version.get("version"))
            try:
                date.fromisoformat(str(version.get("effective_from")))
            except ValueError:
                faults.append(f"{where}.effective_from: a date YYYY-MM-DD is required")
            levels = version.get("levels")
            if not need(isinstance(levels, dict) and set(levels) == set(LEVELS), f"{where}.levels",
                        "must hold exactly 'village' and 'town'"):
                continue
            for level, spec in levels.items():
                _check_level(spec, f"{where}.levels.{level}", need)
    if faults:
        raise RatingRulesInvalid(f"{source} is invalid: " + "; ".join(faults))
    return sorted(versions, key=lambda v: v["effective_from"])


def _check_level(spec: Any, where: str, need) -> None:
    if not need(isinstance(spec, dict), where, "must be an object"):
        return
    need(isinstance(spec.get("title"), str) and bool(spec["title"]), f"{where}.title", "a title is required")
    rules = spec.get("rules")
    if not need(isinstance(rules, list) and bool(rules), f"{where}.rules", "a non-empty list is required"):
        return
    ids = set()
    for j, rule in enumerate(rules):
        at = f"{where}.rules[{j}]"
        if not need(isinstance(rule, dict), at, "must be an object"):
            continue
        need(isinstance(rule.get("id"), str) and rule["id"] not in ids, f"{at}.id", "a unique text is required")
        ids.add(rule.get("id"))
        need(rule.get("metric") in METRICS, f"{at}.metric", f"one of {', '.join(sorted(METRICS))}")
        need(rule.get("op") in OPS, f"{at}.op", f"one of {' '.join(OPS)}")
        value = rule.get("value")
        if need(isinstance(value, (int, float)) and not isinstance(value, bool), f"{at}.value", "a number is required"):
            need(rule.get("metric") not in RATES or 0 <= value <= 1, f"{at}.value", "a rate is between 0 and 1")
        need(isinstance(rule.get("label"), str) and bool(rule["label"]), f"{at}.label", "a Chinese label is required")
        need(isinstance(rule.get("veto", False), bool), f"{at}.veto", "true or false")
        need(isinstance(rule.get("gate", False), bool), f"{at}.gate", "true or false")


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> list[dict[str, Any]]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RatingRulesInvalid(f"{path} cannot be read as JSON: {exc}") from exc
    return validate_rules(document, path)


def load_rules(workflows_dir: Path) -> list[dict[str, Any]]:
    """The validated versions of ``workflows/safety_ratings.json`` (re-read when the file changes)."""
    path = workflows_dir / "safety_ratings.json"
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise RatingRulesInvalid(f"{path} is missing") from exc
    return _load(str(path), mtime)


def rules_in_force(versions: list[dict[str, Any]], period_start: date) -> dict[str, Any] | None:
    """The newest version effective on the period's first day."""
    effective = [v for v in versions if date.fromisoformat(v["effective_from"]) <= period_start]
    return effective[-1] if effective else None


def rate(metrics: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The rules an area met and failed, and its rating."""
    results = []
    for rule in spec["rules"]:
        actual = metrics[rule["metric"]]
        applicable = actual is not None  # a rate over nothing: not applicable, so not failed
        met = OPS[rule["op"]](actual, rule["value"]) if applicable else True
        results.append({"id": rule["id"], "label": rule["label"], "metric": rule["metric"], "op": rule["op"],
                        "threshold": rule["value"], "actual": actual, "applicable": applicable, "met": met,
                        "veto": bool(rule.get("veto", False)), "gate": bool(rule.get("gate", False))})
    failed = [r for r in results if not r["met"]]
    if any(r["gate"] for r in failed):
        # 应排尽排: without the record a gate asks for, nothing is known, so nothing is rated.
        rating, label = "unscreened", "未排查，不评平安"
    elif not failed:
        rating, label = "safe", spec["title"]
    elif any(r["veto"] for r in failed):
        rating, label = "vetoed", "一票否决"
    else:
        rating, label = "not_met", "未达标"
    return {"rating": rating, "rating_label": label, "met": [r for r in results if r["met"]], "failed": failed}


def safety_ratings(session: Session, principal: Principal, period: str, level: str, area: str | None,
                   versions: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    filters = period_filters(period, area)
    version = rules_in_force(versions, filters.start.date())
    if version is None:
        raise ApiProblem(422, f"no safety rating rules are in force for {period}", "该期间没有生效的平安评定规则",
                         errors={"period": "该期间早于评定规则的生效日期"})
    spec = version["levels"][level]
    by_unit = {g["key"]: g for g in kpis(session, principal, filters, now, group_by=level)["groups"]}
    units = session.scalars(select(OrgUnit).where(OrgUnit.kind == level,
                                                  OrgUnit.path.like(like_prefix(area or principal.unit_path),
                                                                    escape="\\"))
                            .order_by(OrgUnit.path)).all()
    empty = _with_rates({})
    screened = screening.records(session, level, area or principal.unit_path, filters)
    items = []
    for unit in units:
        metrics = {k: v for k, v in by_unit.get(unit.path, empty).items() if k not in ("key", "label")}
        record = {"screened": metrics["screened"], **screened.get(unit.path, {"visits": 0, "lists": 0})}
        metrics["screening_records"] = sum(record.values())
        items.append({"path": unit.path, "code": unit.code, "name": unit.name, "kpis": metrics, **rate(metrics, spec),
                      "screening": {**record, "reason": screening.explain(**record)}})
    return {"period": period, "level": level, "title": spec["title"], "rules_version": version["version"],
            "effective_from": version["effective_from"], "rules_status": version.get("status", ""),
            "items": items}

"""Statistics (统计): the KPIs of docs/statistics.md and the safety ratings (平安村(社区) / 平安乡镇).

Everything is one SQL aggregate over the counted cases of the caller's jurisdiction: an inner
query derives, per case, the few facts the KPIs need (from the case row, the ``case_fields``
index, ``case_tasks`` and the outbox), and the outer query sums them per group. Python only
divides the sums and names the groups; it never walks cases.

Cohort rule: a period selects the cases *registered* in it, and every KPI of that period is about
those cases as they stand now. So 化解率 never exceeds 100% and a month's figures settle as its
cases close.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from api.core import categories
from api.core.auth import Principal
from api.core.models import OrgUnit, User
from api.core.org import like_prefix
from api.core.problems import ApiProblem
from api.core.scope import case_in_scope
from api.resident.models import ResidentRating
from engine.clock import CHINA
from engine.models import Case, CaseField, CaseTask, MessageOutbox

# The processes whose instances are counted: a case is one dispute_intake (P1), a lead one
# lead_clue (P6). Sub-processes run inside these; other keys (demos, tests) are not counted.
CASE_PROCESS, LEAD_PROCESS = "dispute_intake", "lead_clue"
FINAL_CLOSURES = ("closed_resolved", "closed_transferred", "closed_unresolved")
# A lead that became a case, joined an open case or proved no dispute is not a dispute of its own.
LEAD_NOT_COUNTED = ("converted", "linked", "false_alarm")
SATISFIED = ("满意", "基本满意")
GROUPINGS = ("town", "village", "category", "channel", "month", "first_handler")
COUNTS = ("screened", "cases", "leads", "resolved", "transferred", "closed", "closed_on_time", "revisited",
          "satisfied", "overdue_tasks", "overdue_cases", "emergencies", "petitions", "recurrences",
          "resident_rated", "resident_satisfied")
# Residents' own ratings (解纷码, api/resident) are counted beside the revisit's, never mixed into it.
RATES = {"resolution_rate": ("resolved", "screened"), "on_time_rate": ("closed_on_time", "closed"),
         "satisfaction_rate": ("satisfied", "revisited"),
         "resident_satisfaction_rate": ("resident_satisfied", "resident_rated")}
CHANNEL_NAMES = {"grid_patrol": "网格排查", "walk_in": "来访", "one_key_call": "一键呼叫", "transfer_in": "移交或交办",
                 "lead": "线索转案", "police_110": "110警情", "hotline_12345": "12345热线", "court_divorce": "离婚诉讼",
                 "petition": "信访", "grid_report": "网格上报", "women_federation": "妇联转介",
                 "resident": "解纷码"}
UNKNOWN_LABELS = {"town": "市级直接办理", "village": "乡镇及以上直接办理", "category": "未分类", "channel": "未填写",
                  "month": "—", "first_handler": "尚无人签收"}


@dataclass(frozen=True)
class Filters:
    """Registration from ``start`` (inclusive) to ``end`` (exclusive), within the unit path ``area``."""

    start: datetime | None = None
    end: datetime | None = None
    area: str | None = None


def day_start(day: date) -> datetime:
    """Midnight of a calendar day in China, the day boundary every report uses."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


def period_filters(period: str, area: str | None = None) -> Filters:
    """``YYYY`` or ``YYYY-MM`` as a registration window (the caller has checked the format)."""
    if len(period) == 4:
        year = int(period)
        return Filters(day_start(date(year, 1, 1)), day_start(date(year + 1, 1, 1)), area)
    year, month = int(period[:4]), int(period[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return Filters(day_start(date(year, month, 1)), day_start(following), area)


# --- the per-case facts ------------------------------------------------------------------------

FIELDS = ("closure_state", "lead_result", "satisfaction", "channel", "source", "category", "recurrence")


def _fields():
    """The indexed fields the KPIs read, one row per case: a single pass over case_fields (a
    correlated lookup per field and case took twice as long on 20,000 cases)."""
    return (select(CaseField.case_id, *[func.max(case((CaseField.name == name, CaseField.value))).label(name)
                                        for name in FIELDS])
            .where(CaseField.name.in_(FIELDS)).group_by(CaseField.case_id).subquery("fields"))


def _unit_above(kind: str):
    """The path of the unit of ``kind`` (town, village) that contains the case's jurisdiction."""
    return (select(OrgUnit.path).where(OrgUnit.kind == kind,
                                       func.substr(Case.jurisdiction, 1, func.length(OrgUnit.path)) == OrgUnit.path)
            .limit(1).scalar_subquery())


def _month(dialect: str):
    """The registration month in China time, as 'YYYY-MM'."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Case.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Case.created_at, "+8 hours")


def _facts(principal: Principal, filters: Filters, now: datetime, dialect: str, group_by: str | None):
    """One row per counted case: 0/1 flags and the grouping keys."""
    is_lead = Case.process_key == LEAD_PROCESS
    fields = _fields()
    closure, lead_result = fields.c.closure_state, fields.c.lead_result
    satisfaction, channel, source = fields.c.satisfaction, fields.c.channel, fields.c.source
    merged = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "repeat_contact")
    police = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "police_dispatch")
    late = exists().where(CaseTask.case_id == Case.id, CaseTask.due_at.is_not(None), or_(
        and_(CaseTask.state == "completed", CaseTask.closed_at > CaseTask.due_at),
        and_(CaseTask.state == "ready", CaseTask.due_at < now)))
    overdue = (select(func.count()).select_from(CaseTask)
               .where(CaseTask.case_id == Case.id, CaseTask.state == "ready", CaseTask.due_at < now)
               .scalar_subquery())
    resolved = case((is_lead, and_(lead_result == "monitor", Case.status == "completed")),
                    else_=closure == "closed_resolved")
    transferred = case((is_lead, lead_result == "emergency"), else_=closure == "closed_transferred")
    closed = case((is_lead, Case.status == "completed"), else_=closure.in_(FINAL_CLOSURES))
    # A lead keeps its source as the channel; a converted case says channel 'lead' and keeps the source too.
    channel_key = case((or_(is_lead, channel == "lead"), func.coalesce(source, channel)), else_=channel)

    def flag(condition):
        return case((condition, 1), else_=0)

    def keys(name: str | None):
        """Only the grouping column asked for: the others cost a lookup per case."""
        if name is None:
            return []
        column = {"town": lambda: _unit_above("town"), "village": lambda: _unit_above("village"),
                  "category": lambda: fields.c.category, "channel": lambda: channel_key,
                  "month": lambda: _month(dialect), "first_handler": lambda: Case.first_handler}[name]()
        return [column.label(name)]

    counted = or_(
        and_(Case.process_key == CASE_PROCESS, ~merged),
        and_(is_lead, or_(lead_result.is_(None), lead_result.not_in(LEAD_NOT_COUNTED))))
    statement = select(
        flag(~is_lead).label("cases"), flag(is_lead).label("leads"),
        flag(resolved).label("resolved"), flag(transferred).label("transferred"), flag(closed).label("closed"),
        flag(and_(closed, ~late)).label("closed_on_time"),
        flag(satisfaction.is_not(None)).label("revisited"), flag(satisfaction.in_(SATISFIED)).label("satisfied"),
        overdue.label("overdue_tasks"), flag(overdue > 0).label("overdue_cases"),
        flag(or_(police, lead_result == "emergency")).label("emergencies"),
        flag(channel_key == "petition").label("petitions"),
        flag(fields.c.recurrence == "True").label("recurrences"),
        flag(exists().where(ResidentRating.case_id == Case.id)).label("resident_rated"),
        flag(exists().where(ResidentRating.case_id == Case.id, ResidentRating.rating.in_(SATISFIED)))
        .label("resident_satisfied"),
        *keys(group_by),
    ).select_from(Case).outerjoin(fields, fields.c.case_id == Case.id).where(
        Case.process_key.in_((CASE_PROCESS, LEAD_PROCESS)), Case.status != "cancelled", counted,
        case_in_scope(principal))
    if filters.start is not None:
        statement = statement.where(Case.created_at >= filters.start)
    if filters.end is not None:
        statement = statement.where(Case.created_at < filters.end)
    if filters.area:
        statement = statement.where(Case.jurisdiction.like(like_prefix(filters.area), escape="\\"))
    return statement.subquery("facts")


# --- KPIs ---------------------------------------------------------------------------------------

def _with_rates(sums: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {name: int(sums.get(name) or 0) for name in COUNTS if name != "screened"}
    out["screened"] = out["cases"] + out["leads"]
    for rate, (numerator, denominator) in RATES.items():
        out[rate] = round(out[numerator] / out[denominator], 4) if out[denominator] else None
    return out


def kpis(session: Session, principal: Principal, filters: Filters, now: datetime,
         group_by: str | None = None) -> dict[str, Any]:
    """``{totals, groups: [{key, label, ...}]}`` for the caller's jurisdiction."""
    facts = _facts(principal, filters, now, session.get_bind().dialect.name, group_by)
    counts = [name for name in COUNTS if name != "screened"]
    sums = [func.coalesce(func.sum(facts.c[name]), 0).label(name) for name in counts]
    if not group_by:
        return {"totals": _with_rates(session.execute(select(*sums)).one()._asdict()), "groups": []}
    key = facts.c[group_by]
    rows = session.execute(select(key.label("key"), *sums).group_by(key)).all()
    # Every group is a disjoint set of cases, so the totals are the groups' sums (one query, not two).
    totals = _with_rates({name: sum(getattr(row, name) for row in rows) for name in counts})
    labels = _labels(session, group_by)
    sums_by_key = {row.key: {name: getattr(row, name) for name in counts} for row in rows}
    order = lambda key: (key is None, key or "")  # noqa: E731
    if group_by == "category":
        sums_by_key, order = _by_catalogue(sums_by_key)
    # Sorted here (a handful of groups) so that "none" comes last on every database.
    groups = [{"key": key, "label": labels(key), **_with_rates(sums_by_key[key])} for key in sorted(sums_by_key, key=order)]
    return {"totals": totals, "groups": groups}


def _by_catalogue(sums_by_key: dict):
    """Category groups under the catalogue's names (an older spelling counts with its category), in
    the catalogue's order, then words it does not know, then none."""
    catalogue = categories.current()
    merged: dict = {}
    for key, sums in sums_by_key.items():
        name = catalogue.canonical(key) or key if key is not None else None
        into = merged.setdefault(name, dict.fromkeys(sums, 0))
        for field, value in sums.items():
            into[field] += value
    rank = {name: i for i, name in enumerate(catalogue.names)}
    return merged, lambda key: (key is None, rank.get(key, len(rank)), key or "")


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
METRICS = set(COUNTS) | set(RATES)
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
                        "veto": bool(rule.get("veto", False))})
    failed = [r for r in results if not r["met"]]
    if not failed:
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
    items = []
    for unit in units:
        metrics = {k: v for k, v in by_unit.get(unit.path, empty).items() if k not in ("key", "label")}
        items.append({"path": unit.path, "code": unit.code, "name": unit.name, "kpis": metrics, **rate(metrics, spec)})
    return {"period": period, "level": level, "title": spec["title"], "rules_version": version["version"],
            "effective_from": version["effective_from"], "rules_status": version.get("status", ""),
            "items": items}


# --- Excel --------------------------------------------------------------------------------------

COLUMNS = (("screened", "排查数"), ("cases", "纠纷案件数"), ("leads", "苗头线索数"), ("resolved", "化解数"),
           ("resolution_rate", "化解率"), ("transferred", "依法导入数"), ("closed", "办结数"),
           ("closed_on_time", "按期办结数"), ("on_time_rate", "按期办结率"), ("revisited", "回访数"),
           ("satisfied", "满意数"), ("satisfaction_rate", "满意率"), ("overdue_cases", "超期案件数"),
           ("overdue_tasks", "超期任务数"), ("resident_rated", "群众评价数（解纷码）"),
           ("resident_satisfied", "群众满意数（解纷码）"), ("resident_satisfaction_rate", "群众满意率（解纷码）"))
GROUP_TITLES = {"town": "乡镇", "village": "村(社区)", "category": "纠纷类型", "channel": "来源渠道", "month": "月份",
                None: "范围"}


def workbook(result: dict[str, Any], group_by: str | None, caption: str) -> bytes:
    """The KPI table as an .xlsx workbook with Chinese headers, a 合计 row and the definitions."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "统计"
    sheet.append([caption])
    sheet.append([GROUP_TITLES[group_by]] + [title for _, title in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for group in result["groups"]:
        sheet.append([group["label"]] + [group[name] for name, _ in COLUMNS])
    sheet.append(["合计"] + [result["totals"][name] for name, _ in COLUMNS])
    for row in sheet.iter_rows(min_row=3):
        for cell, (name, _) in zip(row[1:], COLUMNS):
            if name in RATES:
                cell.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 22
    notes = book.create_sheet("口径说明")
    for line in DEFINITIONS:
        notes.append(list(line))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


DEFINITIONS = (
    ("指标", "口径"),
    ("排查数", "期间内登记的纠纷案件数 + 未转案、未关联、非误报的苗头线索数（不含作废案件和合并的重复登记）"),
    ("化解数", "上述案件中已以“化解”结案的案件数 + 解除监测的线索数"),
    ("化解率", "化解数 ÷ 排查数"),
    ("依法导入数", "引导诉讼、仲裁、信访等法定途径结案的案件数 + 移交公安的紧急线索数（不计入化解数）"),
    ("按期办结率", "按期办结数 ÷ 办结数；按期指该案每个环节均在时限内完成"),
    ("满意率", "（满意 + 基本满意）÷ 已回访并记录满意度的案件数"),
    ("超期任务数", "截至统计时已超过办理时限仍未完成的任务数"),
    ("统计口径", "按登记日期（北京时间）选取案件，指标反映这些案件截至统计时的状态"),
)


def label_periods(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start.isoformat()} 至 {end.isoformat()}"
    if start:
        return f"{start.isoformat()} 起"
    if end:
        return f"截至 {end.isoformat()}"
    return "全部期间"


def window(start: date | None, end: date | None, area: str | None) -> Filters:
    """Inclusive calendar days as a registration window."""
    return Filters(day_start(start) if start else None, day_start(end + timedelta(days=1)) if end else None, area)



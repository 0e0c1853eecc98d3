"""What a template receives: a case's data as people filled it in, in the words of the forms.

Option codes become their titles on the form (``grid_patrol`` → 网格排查), booleans 是/否, dates
2026年3月6日; ID numbers and phones show their masked form unless the caller unsealed them first.
The input's shape is documented in docs/documents.md; each template's example follows it.
"""
from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from api.core.pii import masked
from engine.definitions import SourceFile
from engine.verify import field_labels, field_options

CHINA = timezone(timedelta(hours=8))  # documents show Beijing time
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def vocabulary(files: Iterable[SourceFile], workflows_dir: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(field → title, field → {option code → option title}): from the forms in ``files``, the first
    naming a field winning, then workflows/data_labels.json for the fields scripts compute."""
    labels: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    for source in files:
        if source.kind == "form":
            for name, title in field_labels([source]).items():
                labels.setdefault(name, title)
            for name, named in field_options([source]).items():
                options[name] = {**named, **options.get(name, {})}
    for name, entry in _computed(workflows_dir).items():
        if entry.get("title"):
            labels.setdefault(name, entry["title"])
        if entry.get("options"):
            options[name] = {**entry["options"], **options.get(name, {})}
    return labels, options


@functools.cache
def _computed(workflows_dir: Path) -> dict[str, dict]:
    path = workflows_dir / "data_labels.json"
    return json.loads(path.read_text(encoding="utf-8"))["fields"] if path.exists() else {}


def display(value: Any, options: dict[str, dict[str, str]], name: str | None = None) -> Any:
    """``value`` as a document prints it (``value`` already masked or unsealed)."""
    if isinstance(value, dict):
        return {key: display(item, options, key) for key, item in value.items()}
    if isinstance(value, list):
        return [display(item, options, name) for item in value]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        if name in options and value in options[name]:
            return options[name][value]
        if _DATE.match(value):
            return chinese_date(date.fromisoformat(value))
        if _DATETIME.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
            return chinese_datetime(moment)
    return value


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_datetime(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA)
    return f"{chinese_date(moment.date())} {moment:%H:%M}"


def case_data(data: dict[str, Any], options: dict[str, dict[str, str]], unsealed: dict[str, Any] | None = None) -> dict:
    """The case data for a template: masked (or ``unsealed`` when given), with display values."""
    return display(unsealed if unsealed is not None else masked(data or {}), options)


def fields(data: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The data's top-level fields that a form names, as [{name, label, value}] (for generic lists)."""
    return [{"name": name, "label": labels[name], "value": _text(value)} for name, value in data.items()
            if name in labels and value not in (None, "", [], {})]


def missing(data: dict[str, Any], required: Iterable[str]) -> list[str]:
    return [name for name in required if data.get(name) in (None, "", [], {})]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "；".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "，".join(f"{v}" for v in value.values() if v not in (None, ""))
    return str(value)

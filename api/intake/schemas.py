"""The intake API's contract: one JSON Schema per channel (``workflows/intake/<channel>.schema.json``,
Draft 2020-12) for what outside systems push, and the marshmallow schemas of the answers.

Validation lists every bad field (``errors``: field path → Chinese message), like any other 422.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from marshmallow import Schema, fields

from api.core.config import ROOT

SCHEMA_DIR = ROOT / "workflows" / "intake"
CHANNELS = ("hotline_12345", "police_110", "court_divorce", "petition", "one_key_call", "grid_report")

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("a time zone is required")
    return True


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@lru_cache(maxsize=None)
def schema_of(channel: str, directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    return json.loads((directory / f"{channel}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(channel: str) -> Draft202012Validator:
    return Draft202012Validator(schema_of(channel), format_checker=_formats)


def validate(channel: str, body: Any) -> dict[str, str]:
    """Field path → Chinese message for every problem of ``body``; empty when it is valid."""
    errors: dict[str, str] = {}
    for error in sorted(_validator(channel).iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = ".".join(filter(None, [path, missing]))
        elif error.validator == "additionalProperties":
            extra = error.message.split("'")[1] if "'" in error.message else ""
            path = ".".join(filter(None, [path, extra]))
        errors.setdefault(path or "$", _message(error))
    return errors


def _message(error) -> str:
    title = error.schema.get("title", "") if isinstance(error.schema, dict) else ""
    kind, value = error.validator, error.validator_value
    text = {
        "required": "必填",
        "additionalProperties": "不认识的字段",
        "type": f"类型应为 {value}",
        "minLength": f"至少 {value} 个字符",
        "maxLength": f"最多 {value} 个字符",
        "maxItems": f"最多 {value} 项",
        "minItems": f"至少 {value} 项",
        "pattern": "格式不正确",
        "format": "日期时间格式不正确（ISO 8601，需含时区）" if value == "date-time" else "日期格式不正确（YYYY-MM-DD）",
        "enum": "取值不在允许范围内",
        "oneOf": "取值不在允许范围内",
        "minimum": f"不能小于 {value}",
        "maximum": f"不能大于 {value}",
    }.get(kind, error.message)
    return f"{title}：{text}" if title and kind not in ("required", "additionalProperties") else text


class LinkedCase(Schema):
    case_no = fields.String()
    process_key = fields.String()
    status = fields.String()
    title = fields.String()
    match = fields.List(fields.String(), metadata={"description": "id_no, phone or address_category"})


class ConvertedCase(Schema):
    case_id = fields.Integer()
    case_no = fields.String()
    process_key = fields.String()
    status = fields.String()


class OneKeyResponse(Schema):
    received_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True, metadata={"description": "end of the response window"})
    answered_at = fields.DateTime(allow_none=True)
    response_seconds = fields.Integer(allow_none=True)
    within_window = fields.Boolean(allow_none=True, metadata={
        "description": "true when answered in the window, false when answered late or not by its end, null while open"})
    escalated_at = fields.DateTime(allow_none=True, metadata={"description": "when the village got the escalation"})
    escalated_to = fields.String(allow_none=True, metadata={
        "description": "how far the escalation went: village (村书记), then town (乡镇综治中心); null when none"})
    answered_by = fields.String(allow_none=True, metadata={"description": "the login of who answered"})
    answered_role = fields.String(allow_none=True, metadata={
        "description": "building_head (楼栋长/组长) or grid_worker (网格员)"})


class IntakeStatus(Schema):
    channel = fields.String()
    source_ref = fields.String()
    case_no = fields.String(allow_none=True)
    process_key = fields.String()
    status = fields.String(metadata={"description": "the case status: active, waiting, completed …"})
    result = fields.String(allow_none=True, metadata={"description": "lead_result or intake_result once known"})
    steps = fields.List(fields.String(), metadata={"description": "names of the ready tasks"})
    version = fields.Integer()
    received_at = fields.DateTime()
    updated_at = fields.DateTime()
    linked_cases = fields.List(fields.Nested(LinkedCase))
    reply_by = fields.DateTime(allow_none=True)
    reply_met = fields.Boolean(allow_none=True, metadata={
        "description": "12345: true when the source was answered in time, false when late, null while open"})
    converted_case = fields.Nested(ConvertedCase, allow_none=True, metadata={
        "description": "leads: the dispute_intake case the lead was converted into, once it was"})
    response = fields.Nested(OneKeyResponse, metadata={
        "description": "one-key calls: call received → answered (即呼即应), and the escalation if it was late"})

"""What a request may carry: bounds checked before any route reads it.

A JSON body is bounded in size and nesting depth *before* it is parsed (a body nested 100,000 deep
would otherwise exhaust the parser's recursion) and refused when it holds text that is not Unicode
(a lone surrogate such as ``"\\ud800"`` parses in Python but cannot be stored, nor can NUL on
PostgreSQL). Numbers and dates are bounded to what the database and the calendar of this service
hold: ids and counts fit a PostgreSQL ``INTEGER``, days fall in 2000–2099. Schemas use the fields below, so the OpenAPI
documents the same bounds the code checks.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Any

from flask import Flask, request
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

from .problems import ApiProblem

MAX_INT = 2**31 - 1  # a PostgreSQL INTEGER column; ids, pages and counts never come near it
MAX_PAGE = 100_000
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
YEAR = r"20\d{2}"  # for periods written as text (YYYY, YYYY-MM)
MONTH = rf"{YEAR}-(0[1-9]|1[0-2])"

# A string literal, or an unterminated one up to the end: always matches from a quote, so stripping
# strings stays linear whatever the body (no rescanning from every quote of a broken string).
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+\\?(?:"|\Z)', re.S)
# Escapes that may stand for what is not storable text: a UTF-16 surrogate, or NUL (PostgreSQL
# keeps no NUL in text).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_NOT_TEXT = re.compile("[\ud800-\udfff\x00]")


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - a field factory reads like a field class
    return fields.Integer(validate=validate.Range(min=1, max=MAX_INT, error="编号应在 1 与 {max} 之间"), **kwargs)


def Count(minimum: int = 0, maximum: int = MAX_INT, **kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(validate=validate.Range(min=minimum, max=maximum, error="数值应在 {min} 与 {max} 之间"),
                          **kwargs)


def Page(**kwargs) -> fields.Integer:  # noqa: N802
    return Count(1, MAX_PAGE, load_default=1, **kwargs)


def Day(**kwargs) -> fields.Date:  # noqa: N802
    return fields.Date(validate=validate.Range(min=EARLIEST, max=LATEST, error="日期应在 {min} 与 {max} 之间"),
                       **kwargs)


def Moment(**kwargs) -> fields.DateTime:  # noqa: N802
    """An instant; one without a zone is read as UTC (as the API writes them)."""
    earliest = datetime.combine(EARLIEST, datetime.min.time(), timezone.utc)
    latest = datetime.combine(LATEST, datetime.max.time(), timezone.utc)
    return fields.AwareDateTime(default_timezone=timezone.utc, validate=validate.Range(
        min=earliest, max=latest, error="时间应在 2000 年至 2099 年之间"), **kwargs)


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in a path: a number beyond what the database holds is no route (404), not an
    overflow in the query."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def path_int_schema(converter) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}


def register(app: Flask) -> None:
    """Before any route (and so before any parser) sees a JSON body."""

    @app.before_request
    def _bounded_json():
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            raise ApiProblem(400, "the URL holds a NUL character, which is not text", "网址中含有无效字符")
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") or not request.is_json:
            return
        if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
            raise _too_large()
        raw = request.get_data(cache=True)
        if len(raw) > MAX_JSON_BYTES:
            raise _too_large()
        check_json_text(raw)


def check_json_text(raw: bytes) -> None:
    """Refuse JSON that is not UTF-8, nests deeper than ``MAX_JSON_DEPTH`` or holds a lone surrogate;
    malformed JSON is left to the parser, which says where it breaks."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiProblem(400, f"the body is not UTF-8 (byte {exc.start})", "请求内容不是有效的 UTF-8 文本") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise ApiProblem(400, f"the JSON nests deeper than {MAX_JSON_DEPTH} levels",
                         f"数据嵌套超过 {MAX_JSON_DEPTH} 层，请简化后重试")
    if "\x00" in text or _SUSPECT_ESCAPE.search(text):
        try:
            parsed = json.loads(text)
        except ValueError:
            return
        if _holds_non_text(parsed):
            raise ApiProblem(400, "the JSON holds a lone UTF-16 surrogate (\\ud800-\\udfff) or a NUL, which is not text",
                             "数据中含有无效字符，请删除后重试")


def _depth(text: str) -> int:
    brackets = re.sub(r"[^\[\]{}]", "", _STRING.sub("", text))
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _holds_non_text(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _NOT_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _too_large() -> ApiProblem:
    return ApiProblem(413, f"a JSON body may hold at most {MAX_JSON_BYTES} bytes",
                      f"提交的数据超过 {MAX_JSON_BYTES // (1024 * 1024)} MB，请拆分或改用附件上传")

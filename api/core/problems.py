"""Every error leaves the API as ``application/problem+json`` (RFC 9457), never as a stack trace.

Messages come in Chinese first (the UI's language) with the English detail beside them, so a
person at a screen and a developer reading logs can both act on them.
"""
from __future__ import annotations

import logging
from typing import Any

import http

from flask import Flask, Response, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, DefinitionInvalid, EngineError, InvalidData, NotFound

log = logging.getLogger(__name__)

_TITLES = {
    400: ("请求格式有误", "Bad request"),
    401: ("需要登录", "Authentication required"),
    403: ("无权执行此操作", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("不支持此方法", "Method not allowed"),
    409: ("状态冲突", "Conflict"),
    413: ("上传内容过大", "Payload too large"),
    415: ("不支持的内容类型", "Unsupported media type"),
    422: ("数据校验未通过", "Unprocessable content"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"),
    503: ("服务暂时不可用", "Service unavailable"),
}


PROBLEM_JSON = "application/problem+json"


class Problem(Schema):
    """An error answer (RFC 9457) as every route sends it."""

    class Meta:
        unknown = INCLUDE  # some problems name the field or the state they are about

    type = fields.String()
    title = fields.String(metadata={"description": "the status in English"})
    status = fields.Integer()
    detail = fields.String(metadata={"description": "what went wrong, in English"})
    message = fields.String(metadata={"description": "what to do about it, in Chinese (the UI's language)"})
    errors = fields.Raw(metadata={"description": "per field or per element: what is wrong with it"})


class ProblemApi(Api):
    """flask-smorest documenting every error answer as ``application/problem+json`` with the
    ``Problem`` schema, the way ``problem()`` below sends it."""

    ERROR_SCHEMA = Problem

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "an error: see the problem's detail and message", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class ApiProblem(Exception):
    def __init__(self, status: int, detail: str, message: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.message = message
        self.extra = extra


def problem(status: int, detail: str, message: str | None = None, **extra: Any) -> Response:
    title_zh, title_en = _TITLES.get(status, ("错误", "Error"))
    body = {"type": "about:blank", "title": title_en, "status": status, "detail": detail,
            "message": message or title_zh, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def _engine_problem(exc: EngineError) -> Response:
    if isinstance(exc, DefinitionInvalid):
        return problem(422, exc.message, "流程定义校验未通过，请按列表逐项修改",
                       errors=[issue.as_dict() for issue in exc.issues])
    if isinstance(exc, InvalidData):
        return problem(422, exc.message, "表单数据有误，请按提示修改", errors=exc.errors)
    if isinstance(exc, NotFound):
        return problem(404, exc.message, "未找到对象，或不在您的管辖范围内")
    if isinstance(exc, Conflict):
        return problem(409, exc.message, "操作与当前状态冲突，请刷新后重试",
                       **{k: v for k, v in exc.details.items() if isinstance(v, (str, int))})
    return problem(400, exc.message)


def register(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem):
        return problem(exc.status, exc.detail, exc.message, **exc.extra)

    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):
        return _engine_problem(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        detail = exc.description or exc.name
        extra: dict[str, Any] = {}
        messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        if messages:  # webargs/marshmallow validation errors from flask-smorest
            extra["errors"] = _flatten(messages)
            detail = "the request has invalid fields"
        return problem(exc.code or 500, detail, **extra)

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # Two requests racing to create the same thing: the database's unique rule decides, and
        # the loser is told so rather than shown a crash.
        log.info("integrity conflict: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return problem(409, "the request conflicts with data written at the same time; reload and try again",
                       "与同时写入的数据冲突，请刷新后重试")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return problem(500, "an unexpected error occurred; it has been logged",
                       "服务器内部错误，已记录日志，请稍后重试")


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """webargs nests errors by location and field; the client wants one message per field."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "form", "query", "files", "headers") and not prefix:
                flat.update(_flatten(value, ""))
            else:
                flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "$"] = "; ".join(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            flat.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        flat[prefix or "$"] = str(messages)
    return flat

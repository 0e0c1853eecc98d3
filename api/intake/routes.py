"""Intake for outside systems: ``POST /api/v1/intake/<channel>`` and its status per source reference.

These routes take a per-channel API key (``X-Api-Key``), not a user's bearer token.
"""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from api.core.problems import ApiProblem
from api.core.services import services

from . import service as intake
from .schemas import CHANNELS, IntakeStatus, validate

PREFIX = "/api/v1/intake/"
blp = Blueprint("intake", __name__, url_prefix="/api/v1/intake",
                description="Intake from outside systems (12345, 110, court, petitions, one-key calls, grid reports); "
                            "authenticated by a per-channel API key in X-Api-Key. Body: "
                            "workflows/intake/<channel>.schema.json (docs/intake.md).")
_KEY_DOC = {"security": [], "parameters": [{"in": "header", "name": "X-Api-Key", "required": True,
                                             "schema": {"type": "string"}, "description": "the channel's API key"}]}


def _authorised(channel: str) -> None:
    if channel not in CHANNELS:
        raise ApiProblem(404, f"unknown intake channel {channel!r}; one of {', '.join(CHANNELS)}", "未知的推送渠道")
    intake.check_key(services().db, channel, request.headers.get("X-Api-Key", ""))


@blp.post("/<channel>")
@blp.doc(**_KEY_DOC)
@blp.response(201, IntakeStatus, description="a new lead or case was started")
@blp.alt_response(200, schema=IntakeStatus, description="this source reference was already received: nothing new")
def push(channel: str):
    """Receive a lead or a dispute from an outside system (idempotent by channel and source_ref)."""
    _authorised(channel)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(422, "the body must be a JSON object", "请求体必须是 JSON 对象", errors={"$": "应为 JSON 对象"})
    errors = validate(channel, body)
    if errors:
        raise ApiProblem(422, "the request has invalid fields", "推送数据校验未通过，请按列表逐项修改", errors=errors)
    svc = services()
    received = intake.receive(svc, channel, body)
    return intake.status(svc.db, received.record, svc.clock.now()), 201 if received.created else 200


@blp.get("/<channel>/<source_ref>")
@blp.doc(**_KEY_DOC)
@blp.response(200, IntakeStatus)
def status(channel: str, source_ref: str):
    """The state of what a source reference started: case, status, ready steps, linked cases."""
    _authorised(channel)
    svc = services()
    record = intake.find_record(svc.db, channel, source_ref)
    if record is None or record.case_id is None:
        raise ApiProblem(404, f"nothing was received on {channel} with source_ref {source_ref!r}", "未找到该来源编号的推送")
    return intake.status(svc.db, record, svc.clock.now())

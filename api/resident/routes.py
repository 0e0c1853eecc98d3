"""The resident channel's API (解纷码): public, no account. A phone proves itself with a one-time
code; a tracking code is the only key to a report. The pages in ``web/resident.py`` use the same
service functions."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, request
from flask_smorest import Blueprint

from api.core import auth
from api.core.problems import ApiProblem
from api.core.services import services

from . import codes, service, tracking
from .rules import rules
from .schemas import (ResidentCodeIn, ResidentCodeSent, ResidentRatingIn, ResidentSubmitted, ResidentTrackingOut,
                      ResidentUnitOut)
from .sms import SmsGateway, gateway_from_env

PREFIX = "/api/v1/resident/"
NOT_FOUND = "未找到该查询码，请核对短信中的链接或查询码"
blp = Blueprint("resident", __name__, url_prefix="/api/v1/resident",
                description="The residents' own channel (解纷码): report a dispute, follow it, rate it. Public; "
                            "a phone is proved by a one-time code (docs/resident.md).")
_PUBLIC = {"security": []}


def gateway() -> SmsGateway:
    """The SMS gateway (``RESIDENT_SMS_GATEWAY``); tests put their own in the app's extensions."""
    return current_app.extensions.setdefault("cunliao_sms", gateway_from_env())


def code_sent_message(sms: SmsGateway) -> str:
    return ("演示模式：验证码没有真的发短信，而是显示在服务器控制台（运行 make run 的窗口）" if sms.demo
            else "验证码已发送到您的手机，10 分钟内有效")


def submission_from_request() -> service.Submission:
    """A submission from a multipart (or urlencoded) form: the page and the API send the same fields."""
    form = request.form
    photos = tuple(service.Photo(Path(f.filename or "photo").name[:100], f.read())
                   for f in request.files.getlist("photos") if f and f.filename)
    return service.Submission(
        phone=form.get("phone", "")[:30], code=form.get("code", "")[:10], unit_code=form.get("unit_code", "")[:100],
        grid_code=form.get("grid_code", "")[:100], category=form.get("category", "")[:40],
        description=form.get("description", "")[:10000], consent=form.get("consent") in ("1", "on", "true", "yes"),
        name=form.get("name", "")[:200], address=form.get("address", "")[:1000], photos=photos)


def unit_info(unit_code: str) -> dict:
    svc = services()
    unit = service.reporting_unit(svc.db, unit_code)
    if unit is None:
        raise ApiProblem(404, f"no village or grid with code {unit_code!r}", "二维码无效：请扫描村里张贴的解纷码，或联系网格员")
    return {**unit, "categories": [{"value": v, "label": label} for v, label in rules(svc.settings).categories],
            "demo_sms": gateway().demo}


@blp.get("/units/<unit_code>")
@blp.doc(**_PUBLIC)
@blp.response(200, ResidentUnitOut)
def unit(unit_code: str):
    """What a QR code's page needs: the village or grid, its grids, the kinds of matter."""
    return unit_info(unit_code)


@blp.post("/codes")
@blp.doc(**_PUBLIC)
@blp.arguments(ResidentCodeIn)
@blp.response(202, ResidentCodeSent)
def send_code(body):
    """Send a one-time code to a phone (limited per phone and per address: 429 with Retry-After)."""
    svc = services()
    sms = gateway()
    codes.request_code(svc, sms, rules(svc.settings).limits, codes.normal_phone(body["phone"]), auth.client_ip())
    return {"sent": True, "demo": sms.demo, "message": code_sent_message(sms)}


@blp.post("/reports")
@blp.doc(**_PUBLIC, requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "phone": {"type": "string"}, "code": {"type": "string"}, "unit_code": {"type": "string"},
    "grid_code": {"type": "string"}, "category": {"type": "string"}, "description": {"type": "string"},
    "consent": {"type": "string", "enum": ["1", "0"]}, "name": {"type": "string"}, "address": {"type": "string"},
    "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
@blp.response(201, ResidentSubmitted)
@blp.alt_response(200, schema=ResidentSubmitted, description="the same report (phone and description) was already received")
def report():
    """Report a dispute: starts a case in the intake (channel `resident`) once per phone and description."""
    svc = services()
    done = service.submit(svc, rules(svc.settings), submission_from_request(), auth.client_ip())
    return ({"tracking_code": done.tracking_code, "created": done.created,
             "tracking_url": f"{svc.settings.public_url}/r/t/{done.tracking_code}"}, 201 if done.created else 200)


def _report(tracking_code: str):
    found = tracking.find(services().db, tracking_code)
    if found is None:
        raise ApiProblem(404, "no report has this tracking code", NOT_FOUND)
    return found


@blp.get("/track/<tracking_code>")
@blp.doc(**_PUBLIC)
@blp.response(200, ResidentTrackingOut)
def track(tracking_code: str):
    """How the report stands; an unknown code answers 404 like any other."""
    return tracking.view(services(), _report(tracking_code))


@blp.post("/track/<tracking_code>/rating")
@blp.doc(**_PUBLIC)
@blp.arguments(ResidentRatingIn)
@blp.response(201, ResidentTrackingOut)
def rate(body, tracking_code: str):
    """Rate the handling once the case is closed (满意 / 基本满意 / 不满意 and a comment), once."""
    svc = services()
    found = _report(tracking_code)
    tracking.rate(svc, found, body["rating"], body["comment"])
    return tracking.view(svc, found)

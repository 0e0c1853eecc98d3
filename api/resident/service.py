"""A resident's report (解纷码): checked, proved by a one-time code, rate limited, then handed to
the intake as channel ``resident`` (a ``dispute_intake`` case whose first step is the grid
worker's registration), with the photos stored as the case's attachments.

A report is idempotent per phone and description within a short window: its intake reference is a
hash of both and of the window, so two submits at once start one case, and a repeat answers with
the first report's tracking code. The tracking code (120 random bits) is kept as a hash
for lookup and, encrypted, to answer such a repeat.
"""
from __future__ import annotations

import hashlib
import re
import base64
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from api.core.models import OrgUnit, User, UserRole
from api.core.problems import ApiProblem
from api.intake import service as intake
from engine.files import FileStore
from engine.models import Attachment, Case

from . import codes
from .models import ResidentReport
from .rules import MARKUP, Rules

# The first bytes of each image type accepted; the name and the browser's type are not trusted.
IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"))
NAME_MAX, ADDRESS_MAX = 20, 100


@dataclass
class Photo:
    filename: str
    content: bytes


@dataclass
class Submission:
    phone: str
    code: str
    unit_code: str
    grid_code: str
    category: str
    description: str
    consent: bool
    name: str = ""
    address: str = ""
    photos: tuple[Photo, ...] = ()


@dataclass
class Submitted:
    tracking_code: str
    created: bool


GRID_WORKER = "grid_worker"

# Units a QR code names, kept a minute per process: every submission reads one, and the organisation
# changes seldom (a renamed grid shows a minute late on the residents' page).
UNIT_CACHE_SECONDS = 60
_units: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}


def reporting_unit(db, unit_code: str) -> dict[str, Any] | None:
    """The unit a QR code names (a village or a grid) and, for a village, its grids to choose from."""
    key = (db.url, unit_code[:100])
    cached = _units.get(key)
    if cached is None or cached[0] < time.monotonic():
        if len(_units) > 10_000:  # guessed codes must not grow it without bound
            _units.clear()
        cached = _units[key] = (time.monotonic() + UNIT_CACHE_SECONDS, _read_unit(db, unit_code[:100]))
    return cached[1]


def _read_unit(db, unit_code: str) -> dict[str, Any] | None:
    with db.read() as session:
        unit = session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code[:100],
                                                     OrgUnit.kind.in_(("village", "grid")))).first()
        if unit is None:
            return None
        village = unit if unit.kind == "village" else session.get(OrgUnit, unit.parent_id)
        grids = list(session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
            OrgUnit.parent_id == village.id, OrgUnit.kind == "grid").order_by(OrgUnit.code)))
        # A resident knows their grid worker, not the grid's name: each choice names its workers.
        workers: dict[int, list[str]] = {}
        for unit_id, name in session.execute(
                select(User.unit_id, User.display_name).join(UserRole, UserRole.user_id == User.id)
                .where(User.unit_id.in_([g.id for g in grids]), User.active.is_(True),
                       UserRole.role_code == GRID_WORKER).order_by(User.username)):
            workers.setdefault(unit_id, []).append(name)
        town = session.get(OrgUnit, village.parent_id) if village.parent_id else None
        return {"code": unit.code, "kind": unit.kind, "name": unit.name, "village": village.name,
                "town": town.name if town else "",
                "grids": [{"code": g.code, "name": g.name, "workers": workers.get(g.id, [])} for g in grids]}


def check(rules: Rules, unit: dict[str, Any] | None, form: Submission) -> dict[str, str]:
    """Field → Chinese message for everything wrong with a submission, before anything is stored."""
    errors: dict[str, str] = {}
    limits = rules.limits
    if unit is None:
        errors["unit_code"] = "二维码无效：请扫描村里张贴的解纷码，或联系网格员"
    elif unit["kind"] == "village" and form.grid_code not in {g["code"] for g in unit["grids"]}:
        errors["grid_code"] = "请选择您所在的网格"
    if form.category not in dict(rules.categories):
        errors["category"] = "请选择事情的类别"
    text = form.description.strip()
    if len(text) < limits.description_min:
        errors["description"] = f"请把事情说清楚一些（至少 {limits.description_min} 个字）"
    elif len(text) > limits.description_max:
        errors["description"] = f"描述太长了（最多 {limits.description_max} 个字）"
    for field, value, most in (("description", text, None), ("name", form.name, NAME_MAX),
                               ("address", form.address, ADDRESS_MAX)):
        if MARKUP.search(value or ""):
            errors.setdefault(field, "请只填写文字，不要包含网页代码或链接脚本（如 <script>）")
        elif most and len(value.strip()) > most:
            errors.setdefault(field, f"最多 {most} 个字")
    if len(form.photos) > limits.photos:
        errors["photos"] = f"最多上传 {limits.photos} 张照片"
    for photo in form.photos:
        if len(photo.content) > limits.photo_bytes:
            errors["photos"] = f"照片「{photo.filename[:40]}」太大了（每张不超过 {limits.photo_bytes // 1048576} MB）"
        elif _image_type(photo.content) is None:
            errors["photos"] = f"「{photo.filename[:40]}」不是照片（只能上传 JPG 或 PNG 图片）"
    return errors


def submit(svc, rules: Rules, form: Submission, ip: str) -> Submitted:
    """Check, prove the phone, and start the case once; 422/429 problems say what to do."""
    unit = reporting_unit(svc.db, form.unit_code)
    errors = check(rules, unit, form)
    try:
        phone = codes.normal_phone(form.phone)
    except ApiProblem as problem:
        errors.update(problem.extra["errors"])
    if errors:
        raise ApiProblem(422, "the report has invalid fields", "提交的内容有误，请按提示修改", errors=errors)
    now = svc.clock.now()
    phone_hash = svc.vault.identity_hash(phone)
    dedupe = _sha256(f"{phone_hash}|{_normal_text(form.description)}")
    code_id, used = codes.check_code(svc, rules.limits, phone, form.code)
    earlier = _recent_report(svc, dedupe, now - timedelta(seconds=rules.limits.repeat_window_seconds))
    if earlier is not None:
        return Submitted(svc.vault.unseal(earlier.sealed["tracking"]), False)
    if used:  # the right code again, but not for this report
        raise codes.CODE_USED
    codes.check_report_limits(svc, rules.limits, phone_hash, ip)
    window = int(now.timestamp()) // rules.limits.repeat_window_seconds
    source_ref = f"r{_sha256(f'{dedupe}|{window}')[:40]}"
    tracking = new_tracking_code()
    photos = _store_photos(svc, form.photos)
    jurisdiction_code = form.grid_code if unit["kind"] == "village" else unit["code"]
    body = _intake_body(rules, unit, form, phone, source_ref)
    extra = {"address": form.address.strip() or f"{unit['town']}{unit['village']}",
             "resident_mediation_consent": form.consent,
             "resident_photos": [{k: p[k] for k in ("filename", "sha256", "size")} for p in photos]}
    report = {"tracking_hash": _sha256(tracking), "source_ref": source_ref, "phone_hash": phone_hash,
              "dedupe_hash": dedupe, "ip": ip, "created_at": now, "told_stage": "",
              "told_version": 0,
              "sealed": {"phone": svc.vault.seal({"phone": phone})["phone"],
                         "tracking": svc.vault.seal({"phone": tracking})["phone"]}}

    def write(conn, case: Case) -> None:
        codes.mark_used(conn, code_id, now)
        conn.execute(insert(ResidentReport.__table__).values(case_id=case.id, unit_path=case.jurisdiction, **report))
        for photo in photos:
            conn.execute(insert(Attachment.__table__).values(case_id=case.id, uploaded_by="intake:resident",
                                                             uploaded_at=now, **photo))
    body["where"]["unit_code"] = jurisdiction_code
    received = intake.receive(svc, "resident", body, extra=extra, also=write)
    if not received.created:  # a submit at the same moment won: answer with its code
        earlier = _recent_report(svc, dedupe, now - timedelta(seconds=rules.limits.repeat_window_seconds))
        if earlier is None:
            raise ApiProblem(409, "the same report is being stored", "正在提交，请稍候刷新")
        return Submitted(svc.vault.unseal(earlier.sealed["tracking"]), False)
    return Submitted(tracking, True)


def new_tracking_code() -> str:
    """120 random bits as 24 letters and digits (base32: no look-alike case, easy to type from an SMS)."""
    return base64.b32encode(secrets.token_bytes(15)).decode()


def _intake_body(rules: Rules, unit: dict[str, Any], form: Submission, phone: str, source_ref: str) -> dict:
    text = form.description.strip()
    summary = re.sub(r"\s+", " ", text)[:60]
    consent = "同意" if form.consent else "暂不同意"
    party = {"role": "申请人", "name": form.name.strip() or "群众（解纷码）", "phone": phone}
    return {"source_ref": source_ref,
            "what": {"summary": summary, "category": form.category,
                     "description": f"{text}\n（群众自报，{consent}调解；类别：{rules.category_label(form.category)}）"},
            # Only an address the resident gave is matched against open cases (the village's name,
            # which the case gets otherwise, would match every case of the village).
            "where": {"address": form.address.strip()} if form.address.strip() else {}, "parties": [party]}


def _store_photos(svc, photos: tuple[Photo, ...]) -> list[dict[str, Any]]:
    files = FileStore(svc.settings.attachments_dir)
    stored = []
    for index, photo in enumerate(photos, 1):
        _magic, content_type, suffix = _image_type(photo.content)
        stored.append({"filename": f"群众照片{index}{suffix}", "content_type": content_type,
                       "size": len(photo.content), "sha256": files.put(photo.content)})
    return stored


def _image_type(content: bytes):
    return next((kind for kind in IMAGE_TYPES if content.startswith(kind[0])), None)


def _recent_report(svc, dedupe: str, since: datetime) -> ResidentReport | None:
    with svc.db.read() as session:
        row = session.scalars(select(ResidentReport).where(ResidentReport.dedupe_hash == dedupe,
                                                           ResidentReport.created_at > since)
                              .order_by(ResidentReport.id).limit(1)).first()
        if row is not None:
            session.expunge(row)
        return row


def _normal_text(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

"""The case journal: comments, and attachments (evidence: photos, scans, audio) kept on disk with
their sha256 in the audit log; and each user's notifications."""
from __future__ import annotations

from pathlib import Path

from flask import request, send_file
from flask_smorest import Blueprint
from sqlalchemy import insert, select, update

from api.core import auth
from api.core.guards import case_visible, scoped_case, writer
from api.core.notify import Notification
from api.core.problems import ApiProblem
from api.core.services import services
from engine.errors import NotFound
from engine.files import FileStore
from engine.models import Attachment, CaseEvent

from .work_schemas import AttachmentOut, CommentIn, CommentOut, NotificationOut, NotificationQuery

blp = Blueprint("journal", __name__, url_prefix="/api/v1", description="Comments, attachments, notifications")

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Extension -> (content type, the bytes the file must start with). The content is checked, not the name.
ALLOWED = {
    ".jpg": ("image/jpeg", [b"\xff\xd8\xff"]), ".jpeg": ("image/jpeg", [b"\xff\xd8\xff"]),
    ".png": ("image/png", [b"\x89PNG\r\n\x1a\n"]), ".pdf": ("application/pdf", [b"%PDF-"]),
    ".mp3": ("audio/mpeg", [b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"]),
    ".m4a": ("audio/mp4", [b"ftyp"]), ".wav": ("audio/wav", [b"RIFF"]), ".amr": ("audio/amr", [b"#!AMR"]),
}


@blp.post("/cases/<int:case_id>/comments")
@writer
@case_visible
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
def add_comment(body, case_id: int):
    principal = auth.current()
    svc = services()
    case = svc.cases.annotate(case_id, principal.username, "comment_added", {"text": body["text"]})
    return {"seq": case.event_seq, "author": principal.username, "at": svc.clock.now(), "text": body["text"]}


@blp.get("/cases/<int:case_id>/comments")
@blp.response(200, CommentOut(many=True))
def list_comments(case_id: int):
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        scoped_case(session, principal, case_id)
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                         CaseEvent.type == "comment_added").order_by(CaseEvent.seq))
        return [{"seq": e.seq, "author": e.actor, "at": e.at, "text": e.payload.get("text", "")} for e in events]


@blp.post("/cases/<int:case_id>/attachments")
@writer
@case_visible
@blp.response(201, AttachmentOut)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}})
def upload(case_id: int):
    """Attach evidence: jpg, png, pdf, mp3, m4a, wav or amr, at most 20 MB; the sha256 is audited."""
    principal = auth.current()
    svc = services()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiProblem(400, "send the file as multipart/form-data under the field name 'file'", "请选择文件")
    content = upload.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ApiProblem(413, "attachments are limited to 20 MB", "附件不能超过 20 MB")
    filename = Path(upload.filename).name[:300]
    content_type = _checked_type(filename, content)
    digest = FileStore(svc.settings.attachments_dir).put(content)
    now = svc.clock.now()
    row = {"case_id": case_id, "filename": filename, "content_type": content_type, "size": len(content),
           "sha256": digest, "uploaded_by": principal.username, "uploaded_at": now}
    inserted: list[int] = []

    def save(conn) -> None:
        inserted.append(conn.execute(insert(Attachment.__table__).values(**row)
                                     .returning(Attachment.__table__.c.id)).scalar_one())
    svc.cases.annotate(case_id, principal.username, "attachment_added",
                       {"filename": filename, "sha256": digest, "size": len(content), "content_type": content_type},
                       save)
    return {"id": inserted[0], **row}


@blp.get("/cases/<int:case_id>/attachments")
@blp.response(200, AttachmentOut(many=True))
def list_attachments(case_id: int):
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        scoped_case(session, principal, case_id)
        return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))


@blp.get("/attachments/<int:attachment_id>")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def download(attachment_id: int):
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        scoped_case(session, principal, attachment.case_id)
    store = FileStore(svc.settings.attachments_dir)
    if store.read(attachment.sha256) is None:
        raise ApiProblem(409, "the stored file is missing or does not match its recorded sha256",
                         "附件文件缺失或已被改动，请联系管理员")
    return send_file(store.path(attachment.sha256), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename)


def attachment_problems(session, case_id: int, schema: dict | None, data: dict) -> dict[str, str]:
    """Field path → problem, for each reference in ``data`` to an attachment (the items of an array
    whose items say ``"format": "attachment"``) that is not a file of this case with that sha256: a
    form may only point at the case's own evidence, as it was uploaded."""
    refs: dict[str, dict] = {}
    _collect_refs(schema or {}, data, "", refs)
    if not refs:
        return {}
    ids = {ref.get("id") for ref in refs.values() if isinstance(ref.get("id"), int)}
    stored = dict(session.execute(select(Attachment.id, Attachment.sha256)
                                  .where(Attachment.case_id == case_id, Attachment.id.in_(ids))).all()) if ids else {}
    return {path: "附件不存在、不属于本案件或内容已改变，请重新上传" for path, ref in refs.items()
            if not isinstance(ref.get("id"), int) or stored.get(ref["id"]) != ref.get("sha256")}


def _collect_refs(schema: dict, value, path: str, out: dict[str, dict]) -> None:
    if isinstance(value, dict):
        for key, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and key in value:
                _collect_refs(prop, value[key], f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        for index, item in enumerate(value):
            if items.get("format") == "attachment":
                out[f"{path}.{index}"] = item if isinstance(item, dict) else {}
            else:
                _collect_refs(items, item, f"{path}.{index}", out)


@blp.get("/notifications")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationOut(many=True))
def my_notifications(query):
    principal = auth.current()
    svc = services()
    conditions = [Notification.username == principal.username]
    if query["unread"]:
        conditions.append(Notification.read_at.is_(None))
    with svc.db.read() as session:
        return list(session.scalars(select(Notification).where(*conditions)
                                    .order_by(Notification.read_at.is_not(None), Notification.id.desc())
                                    .limit(query["limit"])))


@blp.post("/notifications/<int:notification_id>/read")
@blp.response(204)
def mark_read(notification_id: int):
    principal = auth.current()
    svc = services()
    with svc.db.write_engine.begin() as conn:
        table = Notification.__table__
        result = conn.execute(update(table).where(table.c.id == notification_id,
                                                  table.c.username == principal.username)
                              .values(read_at=svc.clock.now()))
    if result.rowcount != 1:
        raise NotFound(f"notification {notification_id} does not exist")


def _checked_type(filename: str, content: bytes) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in ALLOWED:
        raise ApiProblem(415, f"'{suffix or filename}' files are not accepted; use {', '.join(sorted(ALLOWED))}",
                         "不支持的附件类型（支持图片、PDF、录音）")
    content_type, magics = ALLOWED[suffix]
    head = content[:12]
    if not any(head.startswith(m) or (m == b"ftyp" and head[4:8] == m) for m in magics):
        raise ApiProblem(415, f"the file's content is not {content_type}", "附件内容与文件类型不符")
    return content_type

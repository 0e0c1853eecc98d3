"""POST /api/v1/messages: deliver a message to the one case waiting for it; GET
/api/v1/messages/undeliverable: the thrown messages that reached no case (dead letters), for admins."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import select

from api.core import auth
from api.core.guards import writer
from api.core.inputs import Id
from api.core.services import services
from engine.models import Case

from .routes import case_out
from .schemas import MessageIn, MessageOut

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="Messages")


class DeadLetterQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    before_id = Id()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class DeadLetterOut(Schema):
    id = fields.Integer()
    name = fields.String()
    correlation = fields.Dict()
    sender_case_no = fields.String()
    sender_case_id = fields.Integer()
    created_at = fields.DateTime()
    settled_at = fields.DateTime()
    reason = fields.String(metadata={"description": "why no case took it"})


@blp.post("")
@writer
@blp.arguments(MessageIn)
@blp.response(200, MessageOut)
def deliver(body):
    """Deliver by name and correlation values (e.g. {"case_no": ...}); idempotent by idempotency_key:
    a repeat, at the same time or later, answers what the first delivery did."""
    principal = auth.current()
    svc = services()
    views = svc.cases.deliver_message(body["name"], body["correlation"], body["payload"], body["idempotency_key"],
                                      principal.username, within=principal.unit_path)
    return {"delivered_to": [case_out(v) for v in views if principal.covers(v.case.jurisdiction)]}


@blp.get("/undeliverable")
@blp.arguments(DeadLetterQuery, location="query")
@blp.response(200, DeadLetterOut(many=True))
def undeliverable(query):
    """Messages thrown by cases in your area that no case took (no case waits for them, or the case
    they name has moved on), newest first; nothing was started in their place. Admins only."""
    principal = auth.require_role("admin")
    svc = services()
    rows = svc.cases.dead_letters(principal.unit_path, query["limit"], query.get("before_id"))
    with svc.db.read() as session:
        sender_ids = {r.sender_case_id for r in rows}
        senders = dict(session.execute(select(Case.id, Case.case_no).where(Case.id.in_(sender_ids))).all())
    return [{"id": r.id, "name": r.name, "correlation": r.correlation, "sender_case_id": r.sender_case_id,
             "sender_case_no": senders.get(r.sender_case_id), "created_at": r.created_at, "settled_at": r.settled_at,
             "reason": r.outcome} for r in rows]

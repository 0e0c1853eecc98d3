"""POST /api/v1/messages: deliver a message to the one case waiting for it."""
from __future__ import annotations

from flask_smorest import Blueprint

from api.core import auth
from api.core.guards import writer
from api.core.services import services

from .routes import case_out
from .schemas import MessageIn, MessageOut

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="Messages")


@blp.post("")
@writer
@blp.arguments(MessageIn)
@blp.response(200, MessageOut)
def deliver(body):
    """Deliver by name and correlation values (e.g. {"case_no": ...}); idempotent by idempotency_key."""
    principal = auth.current()
    svc = services()
    views = svc.cases.deliver_message(body["name"], body["correlation"], body["payload"], body["idempotency_key"],
                                      principal.username, within=principal.unit_path)
    return {"delivered_to": [case_out(v) for v in views if principal.covers(v.case.jurisdiction)]}

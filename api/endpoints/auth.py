"""POST /api/v1/auth/token: trade a username and password for a bearer token."""
from __future__ import annotations

from flask_smorest import Blueprint

from .. import auth
from ..schemas import TokenRequest, TokenResponse

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


@blp.post("/token")
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.doc(security=[])
def token(body):
    """Get a bearer token (valid for TOKEN_TTL_SECONDS)."""
    access_token, ttl = auth.issue_token(body["username"], body["password"])
    return {"access_token": access_token, "token_type": "bearer", "expires_in": ttl}

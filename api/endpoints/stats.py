"""Stats: routes are added by the issue-7 work (placeholder blueprint, no routes yet)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="Stats")

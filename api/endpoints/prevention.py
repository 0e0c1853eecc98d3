"""Prevention: routes are added by the issue-7 work (placeholder blueprint, no routes yet)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("prevention", __name__, url_prefix="/api/v1/prevention", description="Prevention")

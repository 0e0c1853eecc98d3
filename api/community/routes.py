"""Community work (群防群治) under ``/api/v1/community``: one blueprint, its routes in one module per
subject (rosters, meetings, cards, campaigns); importing them here registers them."""
from __future__ import annotations

from . import campaigns, cards, meetings, rosters  # noqa: F401 - each registers its routes on blp
from .common import blp

__all__ = ["blp"]

"""The organisation as every signed-in user may read it: the units of their own area (for the area
pickers of the case list and the dashboard). Changing units is the administrators' business
(api/people/admin.py)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import select

from api.core import auth, org
from api.core.models import OrgUnit
from api.core.services import services

blp = Blueprint("org", __name__, url_prefix="/api/v1/org", description="Organisation (read-only)")

KINDS = ("city", "town", "village", "grid", "department")


class OrgUnitQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(validate=validate.OneOf(KINDS),
                         metadata={"description": "only units of this kind: city, town, village, grid, department"})


class OrgUnitOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    path = fields.String()


@blp.get("/units")
@blp.arguments(OrgUnitQuery, location="query")
@blp.response(200, OrgUnitOut(many=True))
def my_units(query):
    """Your own unit and the units below it, in tree order (by path); nothing outside your area."""
    principal = auth.current()
    conditions = [OrgUnit.path.like(org.like_prefix(principal.unit_path), escape="\\")]
    if query.get("kind"):
        conditions.append(OrgUnit.kind == query["kind"])
    with services().db.read() as session:
        return list(session.scalars(select(OrgUnit).where(*conditions).order_by(OrgUnit.path)))

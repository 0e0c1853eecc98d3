"""The resident API's answers and bodies (marshmallow)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class ResidentCodeIn(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=20))


class ResidentCodeSent(Schema):
    sent = fields.Boolean()
    demo = fields.Boolean(metadata={"description": "demo mode: the code is in the server log, not sent"})
    message = fields.String()


class ResidentGrid(Schema):
    code = fields.String()
    name = fields.String()
    workers = fields.List(fields.String(), metadata={"description": "its grid workers' names (公示), to recognise it by"})


class ResidentContact(Schema):
    name = fields.String()
    role = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "the published work number (公示电话)"})


class ResidentCategory(Schema):
    value = fields.String()
    label = fields.String()


class ResidentUnitOut(Schema):
    code = fields.String()
    kind = fields.String(metadata={"description": "village or grid"})
    name = fields.String()
    village = fields.String()
    town = fields.String()
    grids = fields.List(fields.Nested(ResidentGrid), metadata={"description": "a village's grids, one to choose"})
    categories = fields.List(fields.Nested(ResidentCategory))
    demo_sms = fields.Boolean()


class ResidentSubmitted(Schema):
    tracking_code = fields.String()
    tracking_url = fields.String()
    created = fields.Boolean(metadata={"description": "false: the same report was already received"})


class ResidentStep(Schema):
    name = fields.String()
    unit = fields.String()
    role = fields.String()
    due_at = fields.DateTime(allow_none=True)


class ResidentDocumentOut(Schema):
    title = fields.String()
    number = fields.String()
    issued_at = fields.DateTime()
    verify_code = fields.String(metadata={"description": "opens /verify/{code}"})


class ResidentRatingOut(Schema):
    rating = fields.String()
    comment = fields.String()
    rated_at = fields.DateTime()


class ResidentTrackingOut(Schema):
    case_no = fields.String()
    stage = fields.String(metadata={"description": "received, accepted, closed, merged or withdrawn"})
    stage_text = fields.String()
    category = fields.String()
    received_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    steps = fields.List(fields.Nested(ResidentStep))
    outcome = fields.String(allow_none=True)
    contacts = fields.List(fields.Nested(ResidentContact), metadata={
        "description": "while the case is open: the grid worker's public card (the 首办负责人 once signed)"})
    documents = fields.List(fields.Nested(ResidentDocumentOut))
    can_rate = fields.Boolean()
    rating = fields.Nested(ResidentRatingOut, allow_none=True)


class ResidentRatingIn(Schema):
    rating = fields.String(required=True, validate=validate.Length(max=10))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))

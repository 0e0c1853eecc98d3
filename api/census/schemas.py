"""Request and answer schemas of the grid census API (``/api/v1/census``)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.core.inputs import Count, Day, Id, Moment

from .service import FLAGS, ITEM_KINDS


class _In(Schema):
    class Meta:
        unknown = "exclude"


class PersonIn(_In):
    grid = fields.String(required=True, validate=validate.Length(min=1, max=400),
                         metadata={"description": "grid unit code or path"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    id_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    household_id = Id(load_default=None, allow_none=True)
    flags = fields.List(fields.String(validate=validate.OneOf(FLAGS)), load_default=list)


class PersonPatch(_In):
    name = fields.String(validate=validate.Length(min=1, max=100))
    id_no = fields.String(validate=validate.Length(min=1, max=40))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    address = fields.String(validate=validate.Length(max=300))
    household_id = Id(allow_none=True)
    flags = fields.List(fields.String(validate=validate.OneOf(FLAGS)))


class PersonOut(Schema):
    id = fields.Integer()
    grid_path = fields.String()
    name = fields.String()
    id_no = fields.String(metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    household_id = fields.Integer(allow_none=True)
    address = fields.String()
    flags = fields.List(fields.String())


class PeopleQuery(_In):
    grid = fields.String(validate=validate.Length(max=400))
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "part of the name"})
    flag = fields.String(validate=validate.OneOf(FLAGS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = Count(load_default=0)


class PeopleSearch(_In):
    id_no = fields.String(required=True, validate=validate.Length(min=1, max=40),
                          metadata={"description": "an ID number, matched by its keyed hash (never in a URL)"})


class ItemIn(_In):
    grid = fields.String(required=True, validate=validate.Length(min=1, max=400))
    kind = fields.String(required=True, validate=validate.OneOf(ITEM_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    attributes = fields.Dict(load_default=dict)


class ItemOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    grid_path = fields.String()
    name = fields.String()
    attributes = fields.Dict()


class ItemsQuery(_In):
    grid = fields.String(validate=validate.Length(max=400))
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))


class ChangesQuery(_In):
    target_type = fields.String(validate=validate.OneOf(("person", "item")))
    target_id = Id()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ChangeOut(Schema):
    id = fields.Integer()
    target_type = fields.String()
    target_id = fields.Integer()
    grid_path = fields.String()
    action = fields.String()
    actor = fields.String()
    at = fields.DateTime()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class CensusPersonalDataQuery(_In):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class CensusPersonalDataOut(Schema):
    id = fields.Integer()
    id_no = fields.String()
    phone = fields.String(allow_none=True)


class RoundIn(_In):
    grid = fields.String(required=True, validate=validate.Length(min=1, max=400))
    week_start = Day(required=True, metadata={"description": "the Monday the week starts (China time)"})

    @validates_schema
    def _monday(self, data, **kwargs):
        if data["week_start"].weekday() != 0:
            raise ValidationError("week_start must be a Monday", "week_start")


class RoundItemOut(Schema):
    target_type = fields.String()
    target_id = fields.Integer()
    label = fields.String()
    verified_at = fields.DateTime(allow_none=True)
    verified_by = fields.String(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    overdue = fields.Boolean()


class RoundProgress(Schema):
    total = fields.Integer()
    verified = fields.Integer()
    verified_in_time = fields.Integer()
    overdue = fields.Integer()
    percent = fields.Float()


class RoundOut(Schema):
    id = fields.Integer()
    grid_path = fields.String()
    week_start = fields.Date()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    created_by = fields.String()
    created_at = fields.DateTime()
    closed = fields.Boolean()
    items = fields.List(fields.Nested(RoundItemOut))
    progress = fields.Nested(RoundProgress)


class RoundsQuery(_In):
    grid = fields.String(validate=validate.Length(max=400))


class Target(_In):
    target_type = fields.String(required=True, validate=validate.OneOf(("person", "item")))
    target_id = Id(required=True)


class VisitIn(_In):
    round_id = Id(load_default=None, allow_none=True)
    grid = fields.String(validate=validate.Length(min=1, max=400),
                         metadata={"description": "grid code or path; taken from the round when omitted"})
    started_at = Moment(required=True)
    ended_at = Moment(required=True)
    location = fields.String(required=True, validate=validate.Length(min=1, max=300))
    findings = fields.String(load_default="", validate=validate.Length(max=5000))
    verified = fields.List(fields.Nested(Target), load_default=list)
    police_relevant = fields.Boolean(load_default=False, metadata={
        "description": "双网融合: the findings concern the police; they go to the town's police liaison as a lead"})

    @validates_schema
    def _times(self, data, **kwargs):
        if data["ended_at"] <= data["started_at"]:
            raise ValidationError("ended_at must be after started_at", "ended_at")
        if data.get("round_id") is None and not data.get("grid"):
            raise ValidationError("give round_id or grid", "grid")


class VisitOut(Schema):
    id = fields.Integer()
    round_id = fields.Integer(allow_none=True)
    grid_path = fields.String()
    worker = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    location = fields.String()
    findings = fields.String()
    verified = fields.List(fields.Nested(Target))
    police_lead = fields.String(allow_none=True, metadata={
        "description": "the case number of the lead that took a police-relevant finding to the police liaison"})


class VisitHoursQuery(_In):
    date = Day(required=True, metadata={"description": "a local (China) date"})
    grid = fields.String(validate=validate.Length(max=400))


class VisitHoursOut(Schema):
    worker = fields.String()
    date = fields.Date()
    hours = fields.Float()
    visits = fields.Integer()
    target_hours = fields.Float()
    meets_target = fields.Boolean()


class CensusImportQuery(_In):
    dry_run = fields.Boolean(load_default=False)


class PeopleCounts(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class CensusImportOut(Schema):
    dry_run = fields.Boolean()
    rows = fields.Integer()
    people = fields.Nested(PeopleCounts)
    households_created = fields.Integer()
    items = fields.Dict(keys=fields.String(), values=fields.Nested(PeopleCounts), metadata={
        "description": "per item kind (house, land, event, thing, organisation): created, updated, unchanged"})


class ExportQuery(_In):
    grid = fields.String(required=True, validate=validate.Length(min=1, max=400))

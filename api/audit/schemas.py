"""Schemas of the audit API: events, history, trail, verification, repairs, personal data reads."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from api.core.inputs import Count, Page


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class EventQuery(_In):
    page = Page()
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEventOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    actor = fields.String()
    actor_name = fields.String(allow_none=True, metadata={"description": "the actor's display name, if a user"})
    at = fields.DateTime()
    payload = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class AuditEventPage(Schema):
    items = fields.List(fields.Nested(AuditEventOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class HistoryQuery(_In):
    at = Count(1, required=True, metadata={"description": "event number"})


class OpenTaskOut(Schema):
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    process_key = fields.String()


class ActionOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    actor = fields.String()
    at = fields.String()


class HistoryOut(Schema):
    case_no = fields.String()
    at = fields.Integer()
    events = fields.Integer()
    status = fields.String()
    data = fields.Dict()
    open_tasks = fields.List(fields.Nested(OpenTaskOut))
    path = fields.List(fields.String())
    incident = fields.Dict(allow_none=True)
    definition_id = fields.Integer(allow_none=True)
    actions = fields.List(fields.Nested(ActionOut))
    trail = fields.List(fields.Nested(lambda: TrailOut()))


class TrailOut(Schema):
    """What a case did in one process: completed elements and active ones, to mark on its diagram."""
    process_key = fields.String()
    done = fields.List(fields.String())
    active = fields.List(fields.String())


class FieldLabelsOut(Schema):
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    options = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
                          metadata={"description": "field → {coded value: what it means}"})


class TrailWithDiagramOut(TrailOut):
    version = fields.Integer(metadata={"description": "the version of the case's own process"})
    xml = fields.String(metadata={"description": "this process's BPMN XML as deployed with the case's version"})


class VerifyOut(Schema):
    ok = fields.Boolean()
    case_no = fields.String()
    events = fields.Integer()
    head = fields.String()
    state_sealed = fields.Boolean(metadata={"description": "the case row matches the state sealed in its last event"})
    first_bad_event = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    diff = fields.Dict()


class RepairReason(_In):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RepairCorrectData(RepairReason):
    changes = fields.Dict(keys=fields.String(), required=True)


class RepairRewind(RepairReason):
    to_seq = Count(2, required=True)


class RepairMigrate(RepairReason):
    to_version = Count(1, required=True)


class PersonalDataQuery(_In):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500),
                           metadata={"description": "why you need the real values (recorded)"})


class PersonalDataOut(Schema):
    case_no = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.String())

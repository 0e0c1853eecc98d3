"""Request and response schemas (marshmallow); they are also the OpenAPI contract."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class TokenRequest(_In):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class TokenResponse(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds"})


class FileRef(Schema):
    name = fields.String()
    sha256 = fields.String()


class DefinitionVersionOut(Schema):
    key = fields.String(attribute="process_key")
    version = fields.Integer()
    name = fields.String()
    sha256 = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    files = fields.List(fields.Nested(FileRef))


class DefinitionVersionDetail(DefinitionVersionOut):
    xml = fields.String(metadata={"description": "the BPMN file that defines this process"})


class DeployedOut(Schema):
    key = fields.String()
    version = fields.Integer()
    created = fields.Boolean(metadata={"description": "false when the files were unchanged"})


class DeployResponse(Schema):
    deployed = fields.List(fields.Nested(DeployedOut))


class TaskOut(Schema):
    id = fields.String()
    case_id = fields.Integer()
    case_no = fields.String()
    state = fields.String()
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    jurisdiction = fields.String()
    form_key = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    priority = fields.Integer()
    created_at = fields.DateTime()


class CaseOut(Schema):
    id = fields.Integer()
    case_no = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer()
    status = fields.String()
    version = fields.Integer()
    jurisdiction = fields.String()
    title = fields.String()
    data = fields.Dict()
    incident = fields.Dict(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskOut))


class CaseSummary(CaseOut):
    class Meta:
        exclude = ("data",)


class CaseCreate(_In):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(keys=fields.String(), load_default=dict)
    jurisdiction = fields.String(validate=validate.Length(max=400), metadata={
        "description": "org unit path of the case's area; defaults to the caller's unit"})
    title = fields.String(validate=validate.Length(max=400), load_default="")


class CaseQuery(_In):
    status = fields.String(validate=validate.OneOf(
        ["active", "waiting", "incident", "suspended", "completed", "cancelled"]))
    process_key = fields.String()
    case_no = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CasePage(Schema):
    items = fields.List(fields.Nested(CaseSummary))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class CaseAction(_In):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TaskComplete(_In):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class TaskQuery(_In):
    process_key = fields.String()
    case_no = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class MessageIn(_In):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    correlation = fields.Dict(keys=fields.String(), load_default=dict)
    payload = fields.Dict(keys=fields.String(), load_default=dict)
    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MessageOut(Schema):
    delivered_to = fields.List(fields.Nested(CaseSummary))


class EventQuery(_In):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEventOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    actor = fields.String()
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
    at = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "event number"})


class OpenTaskOut(Schema):
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)


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


class VerifyOut(Schema):
    ok = fields.Boolean()
    case_no = fields.String()
    events = fields.Integer()
    head = fields.String()
    first_bad_event = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    diff = fields.Dict()


class RepairReason(_In):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RepairCorrectData(RepairReason):
    changes = fields.Dict(keys=fields.String(), required=True)


class RepairRewind(RepairReason):
    to_seq = fields.Integer(required=True, validate=validate.Range(min=2))


class RepairMigrate(RepairReason):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))

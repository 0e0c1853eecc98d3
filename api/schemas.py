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
    file = fields.String(metadata={"description": "that file's name: deploy an edited copy under the same name"})


class DefinitionValidatedOut(Schema):
    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer(allow_none=True, metadata={"description": "null for a new process key"})
    changed = fields.Boolean(metadata={"description": "false when deploying would keep the latest version"})


class DefinitionValidateResponse(Schema):
    ok = fields.Boolean()
    processes = fields.List(fields.Nested(DefinitionValidatedOut))


class DefinitionFormOut(Schema):
    key = fields.String()
    title = fields.String(allow_none=True)
    file = fields.String()
    sha256 = fields.String()
    used_by = fields.List(fields.String(), metadata={"description": "latest process versions that use the form"})


class DefinitionFormDetail(DefinitionFormOut):
    schema = fields.Dict(metadata={"description": "the form's JSON Schema"})
    source = fields.String(metadata={"description": "the schema file as deployed, its fields in their author's order "
                                                   "(JSON answers sort object keys)"})


class DefinitionSlaKeyOut(Schema):
    key = fields.String()
    name = fields.String()
    duration = fields.String()
    calendar = fields.String()


class DefinitionRoleOut(Schema):
    code = fields.String()
    zh = fields.String()
    en = fields.String()
    level = fields.String()


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
    assignee = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    overdue = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    draft = fields.Dict(allow_none=True)


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
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "words of the title, or a part of the case number"})
    area = fields.String(metadata={"description": "org-unit path of a town, village or grid, e.g. /macheng/songbu/"})
    category = fields.String()
    category_l2 = fields.String()
    wuxiao = fields.String(metadata={"description": "五小 tag: True or False"})
    risk_level = fields.String()
    owner_level = fields.String()
    channel = fields.String(metadata={"description": "the data's channel, or a lead's source (hotline_12345 …)"})
    overdue = fields.Boolean(metadata={"description": "only cases with a ready task past its due time"})
    id_no = fields.String(metadata={"description": "a party's ID number (matched by its keyed hash; audited roles only)"})
    created_from = fields.DateTime()
    created_to = fields.DateTime()
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
    view = fields.String(load_default="todo", validate=validate.OneOf(
        ["todo", "mine", "groups", "overdue", "due_soon", "completed"]), metadata={"description": (
            "todo: claimed by me or offered to me and unclaimed (default); mine: claimed by me; "
            "groups: offered to my roles, unclaimed; overdue; due_soon (within 24 h); completed: by me")})
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "priority", "created"]))
    process_key = fields.String()
    case_no = fields.String()
    category = fields.String(metadata={"description": "case data field 'category'"})
    risk_level = fields.String(metadata={"description": "case data field 'risk_level'"})
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
    at = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "event number"})


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


# --- People, organisation and authentication (issue 4) ---------------------------------------

class UnitIn(_In):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "letters, digits, '-', '_'; part of the unit's path, so it never changes"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, metadata={
        "description": "city, town, village, grid, department (or 市, 乡镇, 街道, 村, 社区, 网格, 职能部门)"})
    parent_id = fields.Integer(allow_none=True)
    parent_code = fields.String(allow_none=True)


class UnitPatch(_In):
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String()
    parent_id = fields.Integer(metadata={"description": "moves the unit (only while no case lies under it)"})
    parent_code = fields.String()


class UnitOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    path = fields.String()


class UnitQuery(_In):
    kind = fields.String()


class UserIn(_In):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unit_id = fields.Integer()
    unit_code = fields.String()
    roles = fields.List(fields.String(), load_default=list, metadata={"description": "role codes or names"})
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "initial password; omitted: a temporary one is generated and returned once"})
    must_change_password = fields.Boolean(load_default=True)


class UserPatch(_In):
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    unit_id = fields.Integer()
    unit_code = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    unit_id = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    unit_path = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_at = fields.DateTime()
    temporary_password = fields.String(metadata={"description": "only when the server generated it"})


class UserQuery(_In):
    q = fields.String(metadata={"description": "part of the username or name"})
    unit_id = fields.Integer()
    role = fields.String()
    active = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class UserPage(Schema):
    items = fields.List(fields.Nested(UserOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class PasswordReset(_In):
    password = fields.String(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "omitted: a temporary one is generated and returned once"})


class PasswordResetOut(Schema):
    temporary_password = fields.String()


class AdminAuditQuery(_In):
    action = fields.String()
    target_type = fields.String(validate=validate.OneOf(["unit", "user", "token", "import"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AdminAuditOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.Integer(allow_none=True)
    target_path = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class AdminAuditPage(Schema):
    items = fields.List(fields.Nested(AdminAuditOut))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class RoleOut(Schema):
    code = fields.String()
    zh = fields.String()
    en = fields.String()
    level = fields.String()


class ImportQuery(_In):
    dry_run = fields.Boolean(load_default=False)


class ImportCounts(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class GeneratedPassword(Schema):
    username = fields.String()
    temporary_password = fields.String()


class ImportOut(Schema):
    dry_run = fields.Boolean()
    units = fields.Nested(ImportCounts)
    users = fields.Nested(ImportCounts)
    passwords = fields.List(fields.Nested(GeneratedPassword), metadata={
        "description": "temporary passwords generated for new users without one (real import only)"})


class PasswordChange(_In):
    old = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)
    new = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class SessionOut(Schema):
    csrf_token = fields.String(metadata={"description": "send it as X-CSRF-Token with every unsafe request"})
    expires_in = fields.Integer(metadata={"description": "seconds"})
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    unit_path = fields.String()
    must_change_password = fields.Boolean()


class TokenQuery(_In):
    user_id = fields.Integer(metadata={"description": "admins: another user's tokens (in your area)"})
    include_inactive = fields.Boolean(load_default=False, metadata={"description": "also expired and revoked"})


class TokenOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    kind = fields.String(metadata={"description": "bearer or session"})
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    created_ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    current = fields.Boolean(metadata={"description": "the token of this request"})

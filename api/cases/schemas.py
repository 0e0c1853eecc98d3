"""Request and response schemas of cases, tasks and messages (marshmallow); they are also the OpenAPI
contract."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from api.core.inputs import Moment, Page


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


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
    assignee_name = fields.String(allow_none=True, metadata={"description": "the assignee's display name"})
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
    first_handler = fields.String(allow_none=True, metadata={
        "description": "首办负责人: username of the first person who signed for the case"})
    first_handler_name = fields.String(allow_none=True)
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
    handled_at = fields.String(validate=validate.OneOf(["village", "town", "city"]), metadata={"description": (
        "the level that took the case on: village = 村级办理, the cases a village settles without a town step "
        "(a town officer's monitoring view)")})
    channel = fields.String(metadata={"description": "the data's channel, or a lead's source (hotline_12345 …)"})
    overdue = fields.Boolean(metadata={"description": "only cases with a ready task past its due time"})
    mine = fields.Boolean(metadata={"description": (
        "only my cases: where I am the 包案领导 (leader), the 首办负责人 (first handler), or my department "
        "was sent a task (a whistle)")})
    led = fields.Boolean(metadata={"description": "only cases with a step in the leader's lane (包案, 我包的案件)"})
    created_from = Moment()
    created_to = Moment()
    page = Page()
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CaseSearch(CaseQuery):
    """The list's filters in a body, where a party's ID number may go (never in a URL: URLs are logged)."""

    id_no = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "a party's ID number (matched by its keyed hash; roles that may see personal data only)"})


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

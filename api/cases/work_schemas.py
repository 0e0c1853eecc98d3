"""Schemas of the task actions, the case journal and notifications."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .schemas import TaskOut


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class TaskActionOut(TaskOut):
    pass


class ReassignIn(_In):
    to = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DelegateIn(_In):
    to = fields.String(required=True, validate=validate.Length(min=1, max=100))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ResolveIn(_In):
    draft = fields.Dict(keys=fields.String(), load_default=dict)


class ReturnIn(_In):
    to_element = fields.String(required=True, validate=validate.Length(min=1, max=200),
                               metadata={"description": "element id of the earlier, returnable step"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class UrgeIn(_In):
    message = fields.String(load_default="请尽快办理", validate=validate.Length(max=500))


class CopyIn(_In):
    to = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                     validate=validate.Length(min=1, max=50))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class BoardLine(Schema):
    path = fields.String()
    name = fields.String()
    count = fields.Integer()


class OverdueBoard(Schema):
    total = fields.Integer()
    by_town = fields.List(fields.Nested(BoardLine))
    by_department = fields.List(fields.Nested(BoardLine))
    by_first_handler = fields.List(fields.Nested(BoardLine), metadata={
        "description": "overdue tasks by their case's 首办负责人 (path: the username; name: the person)"})


class CommentIn(_In):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CommentOut(Schema):
    seq = fields.Integer()
    author = fields.String()
    at = fields.DateTime()
    text = fields.String()


class AttachmentOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    case_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuery(_In):
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

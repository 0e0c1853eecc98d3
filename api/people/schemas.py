"""Schemas of people, the organisation and authentication: units, users, roles, imports, the admin
audit, tokens, sessions and passwords."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from api.core.inputs import Id, Page


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


class UnitIn(_In):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "letters, digits, '-', '_'; part of the unit's path, so it never changes"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, metadata={
        "description": "city, town, village, grid, department (or 市, 乡镇, 街道, 村, 社区, 网格, 职能部门)"})
    parent_id = Id(allow_none=True)
    parent_code = fields.String(allow_none=True)


class UnitPatch(_In):
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String()
    parent_id = Id(metadata={"description": "moves the unit (only while no case lies under it)"})
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


def _service_phone() -> fields.String:
    """A published work number (公示电话): not personal data, so not sealed like a party's phone."""
    return fields.String(allow_none=True, validate=validate.Regexp(
        r"^([0-9][0-9-]{4,19})?$", error="服务电话只能包含数字和连字符，5-20 位（如 0713-5210001）"), metadata={
        "description": "public work number (公示电话) shown to residents on the cases this person handles; empty: none"})


class UserIn(_In):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    service_phone = _service_phone()
    unit_id = Id()
    unit_code = fields.String()
    roles = fields.List(fields.String(), load_default=list, metadata={"description": "role codes or names"})
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "initial password; omitted: a temporary one is generated and returned once"})
    must_change_password = fields.Boolean(load_default=True)


class UserPatch(_In):
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    service_phone = _service_phone()
    unit_id = Id()
    unit_code = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    service_phone = fields.String(allow_none=True)
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
    unit_id = Id()
    role = fields.String()
    active = fields.Boolean()
    page = Page()
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
    page = Page()
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
    user_id = Id(metadata={"description": "admins: another user's tokens (in your area)"})
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

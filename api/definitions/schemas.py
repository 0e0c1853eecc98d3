"""Schemas of process definitions: deployment, versions, validation, forms, SLA keys, lane roles."""
from __future__ import annotations

from marshmallow import Schema, fields


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

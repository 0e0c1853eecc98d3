"""Request and answer shapes of the documents API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class DocumentIssue(Schema):
    kind = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "a deployed template key: agreement, whistle_order, notice, session_record, revisit_record, "
                       "jc_application, case_file"})
    task_id = fields.String(load_default=None, validate=validate.Length(max=36),
                            metadata={"description": "the step it is issued at, when issued from a task"})
    document_id = fields.Integer(load_default=None, metadata={
        "description": "reissue this document (a new version under its number); by default a kind that is not "
                       "repeatable continues the case's document of that kind, a repeatable one gets a new number"})


class DocumentSign(Schema):
    attachment_id = fields.Integer(required=True, metadata={
        "description": "the signed scan, uploaded first as an attachment of the case (PDF, JPG or PNG)"})


class DocumentOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    number = fields.String(metadata={"description": "麻城〔2026〕调字第0012号"})
    version = fields.Integer()
    issuer = fields.String()
    code = fields.String(metadata={"description": "the verification code: /verify/{code}"})
    verify_url = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    pages = fields.Integer()
    attachment_id = fields.Integer()
    template_version = fields.Integer()
    task_id = fields.String(allow_none=True)
    issued_by = fields.String()
    issued_at = fields.DateTime()
    signed = fields.Boolean()
    signed_attachment_id = fields.Integer(allow_none=True)
    signed_by = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)


class TemplateOut(Schema):
    key = fields.String()
    title = fields.String()
    version = fields.Integer()
    number_word = fields.String()
    issuer = fields.String()
    repeatable = fields.Boolean()
    case_status = fields.List(fields.String())
    required = fields.List(fields.String())
    sha256 = fields.String()
    deployed_at = fields.DateTime()


class RequiredDocumentOut(Schema):
    kind = fields.String()
    title = fields.String()
    signed_required = fields.Boolean()
    issued = fields.Boolean()
    signed = fields.Boolean()


class TaskDocumentsOut(Schema):
    offered = fields.List(fields.Nested(TemplateOut), metadata={"description": "the step's ``documents``"})
    required = fields.List(fields.Nested(RequiredDocumentOut), metadata={
        "description": "the step's ``documentsRequired``, with what is done"})
    documents = fields.List(fields.Nested(DocumentOut), metadata={
        "description": "the case's documents of the kinds the step offers or requires"})


class VerifyQuery(Schema):
    sha256 = fields.String(load_default=None, validate=validate.Length(equal=64),
                           metadata={"description": "the SHA-256 of the PDF in hand: the answer says if it matches"})


class VerificationOut(Schema):
    issued = fields.Boolean()
    number = fields.String()
    title = fields.String()
    version = fields.Integer()
    latest_version = fields.Integer()
    superseded = fields.Boolean(metadata={"description": "a later version of this number was issued"})
    issuer = fields.String()
    issued_at = fields.DateTime()
    pages = fields.Integer()
    sha256 = fields.String()
    signed = fields.Boolean()
    intact = fields.Boolean(metadata={"description": "the stored PDF still has the sealed sha256"})
    matches = fields.Boolean(metadata={"description": "given sha256: whether it is this document's"})

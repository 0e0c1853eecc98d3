"""Request and answer schemas of the prevention work API (``/api/v1/prevention``)."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .service import ENTRY_STATUSES, RISK_LEVELS

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _NAMES(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1, max=60)), validate=validate.Length(max=20),
                       **kwargs)


class _In(Schema):
    class Meta:
        unknown = "exclude"


AREA = {"required": True, "validate": validate.Length(min=1, max=400),
        "metadata": {"description": "village or grid unit code or path"}}


# --- screening lists -------------------------------------------------------------------------

class ScreeningListIn(_In):
    area = fields.String(**AREA)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    period = fields.String(load_default="", validate=validate.Length(max=40),
                           metadata={"description": "e.g. 2026-03 or 2026年第一季度"})
    screeners = _NAMES(load_default=list, metadata={"description": "joint screeners: 妇联, 派出所, 村调委会 …"})


class ScreeningListOut(Schema):
    id = fields.Integer()
    area_path = fields.String()
    title = fields.String()
    period = fields.String()
    screeners = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ListsQuery(_In):
    area = fields.String(validate=validate.Length(max=400))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class EntryIn(_In):
    subject = fields.String(validate=validate.Length(min=1, max=200),
                            metadata={"description": "name or household as written; defaults to the census name"})
    person_id = fields.Integer(load_default=None, allow_none=True, metadata={"description": "census person"})
    household_id = fields.Integer(load_default=None, allow_none=True, metadata={"description": "census household"})
    id_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    indicators = fields.List(fields.String(validate=validate.Length(min=1, max=60)), required=True,
                             validate=validate.Length(min=1, max=30),
                             metadata={"description": "risk indicators: 家暴, 离婚诉讼, 分居, 财产纠纷 …"})
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    screeners = _NAMES(load_default=None, allow_none=True,
                       metadata={"description": "defaults to the list's screeners"})
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "watch")))
    note = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema(skip_on_field_errors=False)
    def _someone(self, data, **kwargs):
        if not data.get("subject") and data.get("person_id") is None:
            raise ValidationError("give a census person_id or a subject", "subject")


class EntryPatch(_In):
    indicators = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                             validate=validate.Length(min=1, max=30))
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    screeners = _NAMES()
    status = fields.String(validate=validate.OneOf(("open", "watch", "resolved")),
                           metadata={"description": "escalate with POST …/escalate"})
    note = fields.String(validate=validate.Length(max=2000))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))


class EscalateIn(_In):
    case_id = fields.Integer(load_default=None, allow_none=True,
                             metadata={"description": "link this existing case instead of starting one"})
    summary = fields.String(load_default="", validate=validate.Length(max=2000))


class PersonBrief(Schema):
    id = fields.Integer()
    name = fields.String()
    grid_path = fields.String()
    id_no = fields.String(metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    flags = fields.List(fields.String())


class EntryOut(Schema):
    id = fields.Integer()
    list_id = fields.Integer()
    area_path = fields.String()
    person_id = fields.Integer(allow_none=True)
    household_id = fields.Integer(allow_none=True)
    person = fields.Nested(PersonBrief, allow_none=True)
    subject = fields.String()
    id_no = fields.String(allow_none=True, metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    indicators = fields.List(fields.String())
    risk_level = fields.String()
    screeners = fields.List(fields.String())
    status = fields.String()
    case_id = fields.Integer(allow_none=True)
    case_no = fields.String(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ScreeningListDetail(ScreeningListOut):
    entries = fields.List(fields.Nested(EntryOut))


class EntriesQuery(_In):
    status = fields.String(validate=validate.OneOf(ENTRY_STATUSES))
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))


class PreventionChangesQuery(_In):
    target_type = fields.String(validate=validate.OneOf(("list", "entry", "plan", "team", "log")))
    target_id = fields.Integer()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PreventionChangeOut(Schema):
    id = fields.Integer()
    target_type = fields.String()
    target_id = fields.Integer()
    area_path = fields.String()
    action = fields.String()
    actor = fields.String()
    at = fields.DateTime()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


# --- follow-up plans -------------------------------------------------------------------------

class PlanIn(_In):
    person_id = fields.Integer(required=True, metadata={"description": "census person"})
    interval_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365),
                                   metadata={"description": "contact every N days"})
    responsible_user = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    responsible_unit = fields.String(load_default="", validate=validate.Length(max=200))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class PlanClose(_In):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=2000))


class PlansQuery(_In):
    area = fields.String(validate=validate.Length(max=400))
    status = fields.String(validate=validate.OneOf(("active", "closed")))
    person_id = fields.Integer()


class HistoryRow(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    data = fields.Dict()


class PlanOut(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    person = fields.Nested(PersonBrief, allow_none=True)
    area_path = fields.String()
    interval_days = fields.Integer()
    responsible_user = fields.String(allow_none=True)
    responsible_unit = fields.String()
    reason = fields.String()
    status = fields.String()
    case_id = fields.Integer()
    case_no = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)


class PlanDetail(PlanOut):
    history = fields.List(fields.Nested(HistoryRow))


# --- patrols ---------------------------------------------------------------------------------

class MemberIn(_In):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class TeamIn(_In):
    area = fields.String(**AREA)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    members = fields.List(fields.Nested(MemberIn), required=True, validate=validate.Length(min=1, max=100))


class TeamOut(Schema):
    id = fields.Integer()
    area_path = fields.String()
    name = fields.String()
    members = fields.List(fields.Dict())
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()


class TeamsQuery(_In):
    area = fields.String(validate=validate.Length(max=400))


class IssueIn(_In):
    description = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    case_id = fields.Integer(load_default=None, allow_none=True)


class LogIn(_In):
    team_id = fields.Integer(required=True)
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(required=True)
    route = fields.String(required=True, validate=validate.Length(min=1, max=300))
    findings = fields.String(load_default="", validate=validate.Length(max=4000))
    issues = fields.List(fields.Nested(IssueIn), load_default=list, validate=validate.Length(max=50))

    @validates_schema(skip_on_field_errors=False)
    def _order(self, data, **kwargs):
        if "started_at" in data and "ended_at" in data and data["ended_at"] <= data["started_at"]:
            raise ValidationError("the patrol must end after it starts", "ended_at")


class LogOut(Schema):
    id = fields.Integer()
    team_id = fields.Integer()
    area_path = fields.String()
    patrol_date = fields.Date()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    hours = fields.Float()
    route = fields.String()
    findings = fields.String()
    issues = fields.List(fields.Dict())
    created_by = fields.String()
    created_at = fields.DateTime()


class LogsQuery(_In):
    area = fields.String(validate=validate.Length(max=400))
    team_id = fields.Integer()
    date_from = fields.Date()
    date_to = fields.Date(metadata={"description": "inclusive"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class HoursQuery(_In):
    month = fields.String(required=True, validate=validate.Regexp(MONTH, error="use YYYY-MM"))
    area = fields.String(validate=validate.Length(max=400))
    team_id = fields.Integer()


class HoursOut(Schema):
    team_id = fields.Integer()
    team_name = fields.String()
    area_path = fields.String()
    month = fields.String()
    hours = fields.Float()
    patrols = fields.Integer()

"""Request and answer schemas of the community work API (``/api/v1/community``)."""
from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from api.core import inputs
from api.core.inputs import Count, Day, Id

MONTH = re.compile(rf"^{inputs.MONTH}$")
ISSUE_OUTCOMES = ("noted", "lead", "case")
TARGET_TYPES = ("case", "patrol", "event")


class _In(Schema):
    class Meta:
        unknown = "exclude"


def _text(maximum: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=maximum), **kwargs)


def _names(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1, max=60)), validate=validate.Length(max=30),
                       **kwargs)


AREA = {"validate": validate.Length(max=400), "metadata": {"description": "unit code or path in your area"}}
PERIOD = {"validate": validate.Regexp(MONTH, error="月份格式应为 YYYY-MM"), "metadata": {"description": "YYYY-MM"}}


class AreaQuery(_In):
    area = fields.String(**AREA)


class MonthQuery(AreaQuery):
    month = fields.String(**PERIOD)


# --- rosters ---------------------------------------------------------------------------------

class OrgIn(_In):
    village = _text(400, required=True, metadata={"description": "village code or path"})
    kind = _text(40, required=True, metadata={"description": "code of workflows/community.json organisation_kinds"})
    name = _text(200, metadata={"description": "defaults to village name + kind"})


class OrgsQuery(AreaQuery):
    kind = fields.String(validate=validate.Length(max=40))


class RosterMemberIn(_In):
    name = _text(100, required=True)
    title = fields.String(load_default="", validate=validate.Length(max=60), metadata={"description": "会长, 成员 …"})
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class RosterMemberPatch(_In):
    title = fields.String(validate=validate.Length(max=60))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    active = fields.Boolean()


class RosterMemberOut(Schema):
    id = fields.Integer()
    org_id = fields.Integer()
    area_path = fields.String()
    name = fields.String()
    title = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    username = fields.String(allow_none=True)
    active = fields.Boolean()
    participations = fields.Integer()


class OrgOut(Schema):
    id = fields.Integer()
    area_path = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    name = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    member_count = fields.Integer()


class OrgDetail(OrgOut):
    members = fields.List(fields.Nested(RosterMemberOut))


class AppointmentIn(_In):
    member_id = Id(required=True)
    role = fields.String(load_default="参与调解", validate=validate.Length(min=1, max=60))


class AppointmentOut(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String()
    org_id = fields.Integer()
    org_kind = fields.String()
    case_id = fields.Integer()
    case_no = fields.String()
    area_path = fields.String()
    role = fields.String()
    appointed_by = fields.String()
    appointed_at = fields.DateTime()


class ParticipationOut(Schema):
    org_id = fields.Integer()
    org_name = fields.String()
    kind = fields.String()
    area_path = fields.String()
    appointments = fields.Integer()
    members = fields.List(fields.Dict())


# --- events ----------------------------------------------------------------------------------

class EventIn(_In):
    area = _text(400, required=True, metadata={"description": "village or town code or path"})
    kind = _text(40, required=True, metadata={"description": "police_meeting, post_mediation, post_legal, post_safety"})
    held_on = Day(required=True)
    place = _text(200, required=True)
    attendees = Count(maximum=100_000, load_default=0)
    police_present = _names(load_default=list)
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                         validate=validate.Length(max=30))
    campaigns = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list,
                            validate=validate.Length(max=6))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class EventsQuery(MonthQuery):
    kind = fields.String(validate=validate.Length(max=40))


class RaisedIssueIn(_In):
    description = _text(4000, required=True)
    raised_by = fields.String(load_default="", validate=validate.Length(max=100))
    outcome = fields.String(load_default="noted", validate=validate.OneOf(ISSUE_OUTCOMES),
                            metadata={"description": "noted, lead (lead_clue) or case (dispute_intake)"})
    category = fields.String(load_default="", validate=validate.Length(max=40))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    grid = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400), metadata={
        "description": "grid of the resident's address, within the event's unit: the lead or case starts there "
                       "(so its grid worker registers it); else in the event's unit"})


class RaisedIssueOut(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    area_path = fields.String()
    description = fields.String()
    raised_by = fields.String()
    outcome = fields.String()
    case_id = fields.Integer(allow_none=True)
    case_no = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()


class EventOut(Schema):
    id = fields.Integer()
    area_path = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    held_on = fields.Date()
    place = fields.String()
    attendees = fields.Integer()
    police_present = fields.List(fields.String())
    topics = fields.List(fields.String())
    note = fields.String()
    campaigns = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.DateTime()
    issues = fields.List(fields.Nested(RaisedIssueOut))


class EventCountsQuery(AreaQuery):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2099))


class EventCountOut(Schema):
    month = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    events = fields.Integer()
    attendees = fields.Integer()
    issues = fields.Integer()
    leads = fields.Integer()
    cases = fields.Integer()


# --- contact cards ---------------------------------------------------------------------------

class CardIn(_In):
    household_id = Id(required=True)
    cadre = _text(100, required=True)
    contact = fields.String(required=True, validate=validate.Length(min=1, max=30),
                            metadata={"description": "the cadre's phone (sealed, shown masked)"})
    issued_on = Day(required=True)


class CardOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    household = fields.String()
    area_path = fields.String()
    cadre = fields.String()
    contact = fields.String()
    issued_on = fields.Date()
    created_by = fields.String()
    created_at = fields.DateTime()


class CardCoverageOut(Schema):
    village_path = fields.String()
    village = fields.String()
    households = fields.Integer()
    with_card = fields.Integer()
    cards = fields.Integer()
    without_card = fields.Integer()


class HouseholdOut(Schema):
    id = fields.Integer()
    name = fields.String()
    grid_path = fields.String()


# --- campaigns and hours ---------------------------------------------------------------------

class TagIn(_In):
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = Id(required=True)
    campaign = _text(40, required=True)


class TagOut(Schema):
    id = fields.Integer()
    target_type = fields.String()
    target_id = fields.Integer()
    area_path = fields.String()
    campaign = fields.String()
    campaign_name = fields.String()
    day = fields.Date()
    tagged_by = fields.String()
    tagged_at = fields.DateTime()


class TagsQuery(_In):
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = Id(required=True)


class CampaignCountOut(Schema):
    campaign = fields.String()
    campaign_name = fields.String()
    cases = fields.Integer()
    patrols = fields.Integer()
    events = fields.Integer()
    total = fields.Integer()


class HoursQuery(AreaQuery):
    date = Day(required=True)


class PersonHoursOut(Schema):
    person = fields.String(metadata={"description": "username"})
    person_name = fields.String(allow_none=True, metadata={"description": "how the person is called on screen"})
    date = fields.Date()
    visit_hours = fields.Float()
    patrol_hours = fields.Float()
    hours = fields.Float()
    visits = fields.Integer()
    patrols = fields.Integer()
    target_hours = fields.Float()
    met = fields.Boolean()

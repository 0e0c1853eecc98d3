"""Request and answer schemas of the statistics API (``/api/v1/stats``)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from api.cases.routes import CaseListItem, CaseListPage
from api.core.inputs import YEAR, Day

from .service import GROUPINGS

PERIOD = rf"^{YEAR}(-(0[1-9]|1[0-2]))?$"


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class KpiQuery(_In):
    group_by = fields.String(load_default=None, validate=validate.OneOf(GROUPINGS),
                             metadata={"description": ("town, village, category, channel, month or first_handler "
                                                       "(首办负责人, by person)")})
    from_ = Day(data_key="from", load_default=None,
                metadata={"description": "first registration day (YYYY-MM-DD, China time), inclusive"})
    to = Day(load_default=None, metadata={"description": "last registration day, inclusive"})
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=400),
                         metadata={"description": "unit code or path within your jurisdiction"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("“起始日期”不能晚于“截止日期”", "to")


class DrillQuery(KpiQuery):
    key = fields.String(load_default=None, validate=validate.Length(max=400),
                        metadata={"description": "the group (a key of the KPI answer's groups); empty = the group without one"})
    dept = fields.String(load_default=None, validate=validate.Length(min=1, max=400),
                         metadata={"description": "for kpi=whistles: the department's unit path"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class DrillItem(CaseListItem):
    weight = fields.Integer(metadata={"description": "what the case adds to the figure (its overdue tasks for overdue_tasks, else 1)"})


class DrillPage(CaseListPage):
    items = fields.List(fields.Nested(DrillItem))
    kpi = fields.String()
    counted_kpi = fields.String(metadata={"description": "the count behind it (a rate's numerator)"})
    label = fields.String()
    figure = fields.Integer(metadata={"description": "the KPI's figure: the sum of the listed cases' weights"})


class RatingQuery(_In):
    period = fields.String(required=True, validate=validate.Regexp(PERIOD, error="期间应为 YYYY 或 YYYY-MM（2000 年以后）"),
                           metadata={"description": "YYYY or YYYY-MM"})
    level = fields.String(load_default="village", validate=validate.OneOf(("village", "town")),
                          metadata={"description": "village (平安村(社区)) or town (平安乡镇)"})
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=400))


class Kpis(Schema):
    screened = fields.Integer(metadata={"description": "排查数 = cases + leads"})
    cases = fields.Integer()
    leads = fields.Integer()
    resolved = fields.Integer(metadata={"description": "化解数"})
    resolution_rate = fields.Float(allow_none=True, metadata={"description": "化解率 = resolved / screened"})
    transferred = fields.Integer(metadata={"description": "依法导入 (not counted as resolved)"})
    closed = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "按期办结率 = closed_on_time / closed"})
    revisited = fields.Integer()
    satisfied = fields.Integer()
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "满意率 = satisfied / revisited"})
    resident_rated = fields.Integer(metadata={"description": "cases the residents rated themselves (解纷码)"})
    resident_satisfied = fields.Integer(metadata={"description": "of those, rated 满意 or 基本满意"})
    resident_satisfaction_rate = fields.Float(allow_none=True, metadata={
        "description": "群众满意率 = resident_satisfied / resident_rated, beside the revisit's satisfaction_rate"})
    overdue_tasks = fields.Integer()
    overdue_cases = fields.Integer()
    emergencies = fields.Integer()
    petitions = fields.Integer()
    recurrences = fields.Integer()
    repeats = fields.Integer(metadata={"description": "反复纠纷: a party of an earlier case registered within 90 days"})
    one_key_calls = fields.Integer(metadata={"description": "一键呼叫 cases"})
    one_key_answered = fields.Integer()
    one_key_in_time = fields.Integer(metadata={"description": "answered within the one_key_response window"})
    one_key_rate = fields.Float(allow_none=True, metadata={"description": "即呼即应率 = one_key_in_time / one_key_calls"})
    one_key_response_seconds = fields.Float(allow_none=True, metadata={"description": "mean seconds to answer"})
    first_signed = fields.Integer(metadata={"description": "cases whose first step (首办) is done"})
    first_signed_on_time = fields.Integer()
    first_sign_rate = fields.Float(allow_none=True, metadata={"description": "首办按时签收率"})
    red_cases = fields.Integer(metadata={"description": "红色案件: cases graded red (risk_level)"})
    leader_cases = fields.Integer(metadata={"description": "领导包案: cases whose 包案登记 a leader signed"})
    red_revisits = fields.Integer(metadata={"description": "weekly revisits of red cases done (每周回访, tasks)"})


class KpiGroup(Kpis):
    key = fields.String(allow_none=True)
    label = fields.String()


class KpiResult(Schema):
    totals = fields.Nested(Kpis)
    groups = fields.List(fields.Nested(KpiGroup))


class RuleResult(Schema):
    id = fields.String()
    label = fields.String()
    metric = fields.String()
    op = fields.String()
    threshold = fields.Float()
    actual = fields.Float(allow_none=True)
    applicable = fields.Boolean()
    met = fields.Boolean()
    veto = fields.Boolean()
    gate = fields.Boolean(metadata={"description": "failing it means the area is not rated (unscreened)"})


class ScreeningRecord(Schema):
    screened = fields.Integer(metadata={"description": "disputes and leads registered"})
    visits = fields.Integer(metadata={"description": "census visits (入户走访) begun in the period"})
    lists = fields.Integer(metadata={"description": "joint risk screening lists (联合排查) drawn up"})
    reason = fields.String(metadata={"description": "the record in Chinese; why an unscreened area is not rated"})


class RatedArea(Schema):
    path = fields.String()
    code = fields.String()
    name = fields.String()
    kpis = fields.Nested(Kpis)
    screening_records = fields.Integer(attribute="kpis.screening_records",
                                       metadata={"description": "应排尽排: screened + visits + lists"})
    screening = fields.Nested(ScreeningRecord)
    rating = fields.String(metadata={"description": "safe, not_met, vetoed or unscreened (no screening recorded)"})
    rating_label = fields.String()
    met = fields.List(fields.Nested(RuleResult))
    failed = fields.List(fields.Nested(RuleResult))


class RatingResult(Schema):
    period = fields.String()
    level = fields.String()
    title = fields.String()
    rules_version = fields.String()
    effective_from = fields.String()
    rules_status = fields.String()
    items = fields.List(fields.Nested(RatedArea))


class ReconcileQuery(KpiQuery):
    period = fields.String(load_default=None, validate=validate.Regexp(PERIOD, error="期间应为 YYYY 或 YYYY-MM（2000 年以后）"),
                           metadata={"description": "YYYY or YYYY-MM; instead of from/to"})


class ReconciliationPart(Schema):
    key = fields.String()
    label = fields.String()
    counted = fields.Boolean(metadata={"description": "part of 排查数"})
    count = fields.Integer()


class Duplicate(Schema):
    case_no = fields.String()
    part = fields.String()
    label = fields.String()
    of = fields.String(metadata={"description": "the case it joined, as recorded"})


class Reconciliation(Schema):
    total = fields.Integer(metadata={"description": "cases and leads registered in the period"})
    screened = fields.Integer(metadata={"description": "排查数 of the same filters"})
    parts = fields.List(fields.Nested(ReconciliationPart))
    duplicates = fields.List(fields.Nested(Duplicate))
    balanced = fields.Boolean(metadata={"description": "parts sum to total, counted parts to screened"})


class WindowQuery(_In):
    from_ = Day(data_key="from", load_default=None, metadata={"description": "first day (YYYY-MM-DD, China time)"})
    to = Day(load_default=None, metadata={"description": "last day, inclusive"})
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=400))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("“起始日期”不能晚于“截止日期”", "to")


class WorkerHours(Schema):
    worker = fields.String()
    hours = fields.Float()
    visits = fields.Integer()
    days = fields.Integer(metadata={"description": "days with visits"})
    days_on_target = fields.Integer(metadata={"description": "days with at least target_hours"})
    hours_per_day = fields.Float(metadata={"description": "hours ÷ days with visits"})
    target_hours = fields.Float()
    on_target_rate = fields.Float(metadata={"description": "days_on_target ÷ days"})


class GridRounds(Schema):
    grid_path = fields.String()
    grid = fields.String()
    rounds = fields.Integer()
    items = fields.Integer()
    verified = fields.Integer()
    verified_in_time = fields.Integer()
    completion_rate = fields.Float(allow_none=True, metadata={"description": "应排尽排率 = verified_in_time ÷ items"})


class DepartmentWhistles(Schema):
    dept = fields.String()
    name = fields.String()
    cases = fields.Integer()
    whistles = fields.Integer(metadata={"description": "acknowledge (应哨) tasks offered to the department"})
    acknowledged = fields.Integer()
    response_hours = fields.Float(allow_none=True, metadata={"description": "mean hours from whistle to 应哨"})
    ack_late = fields.Integer()
    exempted = fields.Integer()
    scored = fields.Integer()
    mean_score = fields.Float(allow_none=True)


class PracticeResult(Schema):
    visit_hours = fields.List(fields.Nested(WorkerHours))
    census_rounds = fields.List(fields.Nested(GridRounds))
    departments = fields.List(fields.Nested(DepartmentWhistles))

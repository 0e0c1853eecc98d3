"""The per-case facts every case KPI is made of (docs/statistics.md).

One SQL query derives, per counted case of the caller's jurisdiction, the 0/1 flags the KPIs sum
(from the case row, the ``case_fields`` index, ``case_tasks`` — the one-key call's answer tasks
among them —, the outbox and the residents' ratings). The KPI figures sum a flag; the drill-down
lists the cases whose flag is set. Both read this one definition, so a figure and its list of cases cannot disagree.

Cohort rule: a period selects the cases *registered* in it, and every KPI of that period is about
those cases as they stand now. So 化解率 never exceeds 100% and a month's figures settle as its
cases close.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from api.core import categories
from api.core.auth import Principal
from api.core.models import OrgUnit
from api.core.org import like_prefix
from api.core.scope import case_in_scope
from api.intake.service import ANSWER_TASKS
from api.resident.models import ResidentRating
from engine.clock import CHINA
from engine.models import Case, CaseField, CaseTask, MessageOutbox

from .models import CaseFacts

# The processes whose instances are counted: a case is one dispute_intake (P1) or one quick_mediation
# (简易纠纷就地调处, settled in the village: it records closure_state like P1), a lead one lead_clue (P6).
# Sub-processes run inside these; other keys (demos, tests) are not counted.
CASE_PROCESS, QUICK_PROCESS, LEAD_PROCESS = "dispute_intake", "quick_mediation", "lead_clue"
CASE_PROCESSES = (CASE_PROCESS, QUICK_PROCESS)
COUNTED_PROCESSES = (*CASE_PROCESSES, LEAD_PROCESS)
FINAL_CLOSURES = ("closed_resolved", "closed_transferred", "closed_unresolved")
# A lead that became a case, joined an open case or proved no dispute is not a dispute of its own.
LEAD_NOT_COUNTED = ("converted", "linked", "false_alarm")
SATISFIED = ("满意", "基本满意")
GROUPINGS = ("town", "village", "category", "channel", "month", "first_handler")
COUNTS = ("screened", "cases", "leads", "resolved", "transferred", "closed", "closed_on_time", "revisited",
          "satisfied", "overdue_tasks", "overdue_cases", "emergencies", "petitions", "recurrences", "repeats",
          "one_key_calls", "one_key_answered", "one_key_in_time", "first_signed", "first_signed_on_time",
          "resident_rated", "resident_satisfied", "red_cases", "leader_cases", "red_revisits")
RATES = {"resolution_rate": ("resolved", "screened"), "on_time_rate": ("closed_on_time", "closed"),
         "satisfaction_rate": ("satisfied", "revisited"), "one_key_rate": ("one_key_in_time", "one_key_calls"),
         "first_sign_rate": ("first_signed_on_time", "first_signed"),
         # Residents' own ratings (解纷码, api/resident) are counted beside the revisit's, never mixed into it.
         "resident_satisfaction_rate": ("resident_satisfied", "resident_rated")}
FIRST_HANDLER_FORM = "intake_accept"  # 签收 by the receiving level: the first-handler rule (首办负责制)
REPEAT_DAYS = 90  # 反复纠纷: the same parties again within this many days
CHANNEL_NAMES = {"grid_patrol": "网格排查", "walk_in": "来访", "one_key_call": "一键呼叫", "transfer_in": "移交或交办",
                 "lead": "线索转案", "police_110": "110警情", "hotline_12345": "12345热线", "court_divorce": "离婚诉讼",
                 "petition": "信访", "grid_report": "网格上报", "women_federation": "妇联转介",
                 "resident": "解纷码", "grid_visit": "走访发现"}
UNKNOWN_LABELS = {"town": "市级直接办理", "village": "乡镇及以上直接办理", "category": "未分类", "channel": "未填写",
                  "month": "—", "first_handler": "尚无人签收"}


@dataclass(frozen=True)
class Filters:
    """Registration from ``start`` (inclusive) to ``end`` (exclusive), within the unit path ``area``."""

    start: datetime | None = None
    end: datetime | None = None
    area: str | None = None


def day_start(day: date) -> datetime:
    """Midnight of a calendar day in China, the day boundary every report uses."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


def period_filters(period: str, area: str | None = None) -> Filters:
    """``YYYY`` or ``YYYY-MM`` as a registration window (the caller has checked the format)."""
    if len(period) == 4:
        year = int(period)
        return Filters(day_start(date(year, 1, 1)), day_start(date(year + 1, 1, 1)), area)
    year, month = int(period[:4]), int(period[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return Filters(day_start(date(year, month, 1)), day_start(following), area)


# --- the per-case facts ------------------------------------------------------------------------

FIELDS = ("closure_state", "lead_result", "satisfaction", "channel", "source", "category", "recurrence", "risk_level")
# 领导包案: a leader signed the 包案登记 (five_batches a_assign); 每周回访: the red case's weekly revisits done.
LEADER_FORM, RED_REVISIT_FORM = "batches_leader_assign", "batches_red_revisit"


def _fields(filters: Filters):
    """The indexed fields the KPIs read, one row per case: a single pass over case_fields (a
    correlated lookup per field and case took twice as long on 20,000 cases), limited to the
    cases registered in the window (the whole table was grouped for any window: 1 s and more
    at 100,000 cases, docs/performance.md "Scale")."""
    return _fields_of(registered(select(Case.id), filters))


def _fields_of(cases):
    """The KPI fields of the cases ``cases`` (a select of ids) selects."""
    return (select(CaseField.case_id, *[func.max(case((CaseField.name == name, CaseField.value))).label(name)
                                        for name in FIELDS])
            .where(CaseField.name.in_(FIELDS), CaseField.case_id.in_(cases))
            .group_by(CaseField.case_id).subquery("fields"))


def _unit_above(kind: str):
    """The path of the unit of ``kind`` (town, village) that contains the case's jurisdiction."""
    return (select(OrgUnit.path).where(OrgUnit.kind == kind,
                                       func.substr(Case.jurisdiction, 1, func.length(OrgUnit.path)) == OrgUnit.path)
            .limit(1).scalar_subquery())


def _catalogued(category):
    """The catalogue's name for a stored category (an older spelling or a synonym counts with its
    category), so that a group and its drill-down hold the same cases; unknown words stay as stored."""
    spellings = categories.current().spellings
    return case(*[(category.in_(words), name) for name, words in spellings.items()], else_=category)


def _month(dialect: str):
    """The registration month in China time, as 'YYYY-MM'."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Case.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Case.created_at, "+8 hours")


def _within_days(later, earlier, days: int, dialect: str):
    """``earlier`` lies at most ``days`` days before ``later`` (both timestamps)."""
    if dialect == "postgresql":
        return later - earlier <= literal_column(f"interval '{int(days)} days'")
    return func.julianday(later) - func.julianday(earlier) <= days


def _seconds(later, earlier, dialect: str):
    """Seconds from ``earlier`` to ``later`` (both timestamps)."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400)


def _one_key(dialect: str):
    """A one-key call (即呼即应) is a case with the answer tasks of one_key_response.bpmn (the
    楼栋长/组长's and the grid worker's): answered when the first of them was completed, in time when
    that was by its due time (the ``one_key_response`` window), and its response time is from the
    call (the case's start) to that answer."""
    offered = exists().where(CaseTask.case_id == Case.id, CaseTask.element_id.in_(ANSWER_TASKS))
    done = and_(CaseTask.case_id == Case.id, CaseTask.element_id.in_(ANSWER_TASKS), CaseTask.state == "completed")
    in_time = exists().where(done, CaseTask.closed_at <= CaseTask.due_at)
    seconds = select(func.min(_seconds(CaseTask.closed_at, Case.created_at, dialect))).where(done).scalar_subquery()
    return offered, exists().where(done), in_time, seconds


def repeat_of(subject, dialect: str):
    """反复纠纷, defined: the smallest id of a dispute case registered before ``subject`` (a ``Case``
    or an alias of it) — a smaller id, at most 90 days earlier, not cancelled — that shares a party
    with it (the keyed hash of an identity number, indexed as ``party_hash``); NULL when none does.
    A select of one value, correlated to ``subject``.

    Nested from the subject's own hashes outwards, so each step is an index lookup: written as one
    join, SQLite started from every earlier dispute case instead, once per counted case (10 s for
    1,000 cases; docs/performance.md "Scale"). ``case_facts.repeat_of`` stores it (summary.py)."""
    mine, theirs, earlier = aliased(CaseField), aliased(CaseField), aliased(Case)
    earlier_dispute = exists().where(
        earlier.id == theirs.case_id, earlier.process_key.in_(CASE_PROCESSES), earlier.status != "cancelled",
        earlier.created_at <= subject.created_at,
        _within_days(subject.created_at, earlier.created_at, REPEAT_DAYS, dialect)
    ).correlate(subject, theirs)  # the subject, two levels up, not a cases table of its own
    return select(func.min(theirs.case_id)).where(
        mine.case_id == subject.id, mine.name == "party_hash",
        theirs.name == "party_hash", theirs.value == mine.value, theirs.case_id < subject.id, earlier_dispute)


def _first_handler_sign(now: datetime):
    """(signed, late): the case's 首办 签收 — the receiving level's ``intake_accept`` task of the
    first-handler rule (slaKey ``first_handler_accept``) — was completed at least once; one of those
    tasks was completed after its ``due_at`` or is still open past it. Its completer is the 首办负责人."""
    accept = and_(CaseTask.case_id == Case.id, CaseTask.form_key == FIRST_HANDLER_FORM)
    signed = exists().where(accept, CaseTask.state == "completed")
    late = exists().where(accept, CaseTask.due_at.is_not(None), or_(
        and_(CaseTask.state == "completed", CaseTask.closed_at > CaseTask.due_at),
        and_(CaseTask.state == "ready", CaseTask.due_at < now)))
    return signed, late


def computed_facts(principal: Principal, filters: Filters, now: datetime, dialect: str, group_by: str | None = None):
    """What ``facts`` answers, computed from the live tables (tasks, fields, outbox) case by case:
    the definition ``case_facts`` (summary.py) stores the clock-free part of, kept to prove that
    both agree (tests/test_stats_summary.py)."""
    is_lead = Case.process_key == LEAD_PROCESS
    fields = _fields(filters)
    closure, lead_result = fields.c.closure_state, fields.c.lead_result
    satisfaction, channel, source = fields.c.satisfaction, fields.c.channel, fields.c.source
    merged = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "repeat_contact")
    police = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "police_dispatch")
    late = exists().where(CaseTask.case_id == Case.id, CaseTask.due_at.is_not(None), or_(
        and_(CaseTask.state == "completed", CaseTask.closed_at > CaseTask.due_at),
        and_(CaseTask.state == "ready", CaseTask.due_at < now)))
    overdue = (select(func.count()).select_from(CaseTask)
               .where(CaseTask.case_id == Case.id, CaseTask.state == "ready", CaseTask.due_at < now)
               .scalar_subquery())
    resolved = case((is_lead, and_(lead_result == "monitor", Case.status == "completed")),
                    else_=closure == "closed_resolved")
    transferred = case((is_lead, lead_result == "emergency"), else_=closure == "closed_transferred")
    closed = case((is_lead, Case.status == "completed"), else_=closure.in_(FINAL_CLOSURES))
    # A lead keeps its source as the channel; a converted case says channel 'lead' and keeps the source too.
    channel_key = case((or_(is_lead, channel == "lead"), func.coalesce(source, channel)), else_=channel)
    one_key, one_key_answered, one_key_in_time, one_key_seconds = _one_key(dialect)
    signed, late_sign = _first_handler_sign(now)
    red_revisits = (select(func.count()).select_from(CaseTask)
                    .where(CaseTask.case_id == Case.id, CaseTask.form_key == RED_REVISIT_FORM,
                           CaseTask.state == "completed").scalar_subquery())

    def flag(condition):
        return case((condition, 1), else_=0)

    def keys(name: str | None):
        return _keys(name, fields.c.category, channel_key, dialect)

    counted = or_(
        and_(Case.process_key.in_(CASE_PROCESSES), ~merged),
        and_(is_lead, or_(lead_result.is_(None), lead_result.not_in(LEAD_NOT_COUNTED))))
    statement = select(
        Case.id.label("case_id"),
        flag(~is_lead).label("cases"), flag(is_lead).label("leads"),
        flag(resolved).label("resolved"), flag(transferred).label("transferred"), flag(closed).label("closed"),
        flag(and_(closed, ~late)).label("closed_on_time"),
        flag(satisfaction.is_not(None)).label("revisited"), flag(satisfaction.in_(SATISFIED)).label("satisfied"),
        overdue.label("overdue_tasks"), flag(overdue > 0).label("overdue_cases"),
        flag(or_(police, lead_result == "emergency")).label("emergencies"),
        flag(channel_key == "petition").label("petitions"),
        flag(fields.c.recurrence == "True").label("recurrences"),
        flag(and_(~is_lead, repeat_of(Case, dialect).scalar_subquery().is_not(None))).label("repeats"),
        flag(one_key).label("one_key_calls"),
        flag(one_key_answered).label("one_key_answered"),
        flag(one_key_in_time).label("one_key_in_time"),
        one_key_seconds.label("one_key_seconds"),
        flag(signed).label("first_signed"),
        flag(and_(signed, ~late_sign)).label("first_signed_on_time"),
        flag(exists().where(ResidentRating.case_id == Case.id)).label("resident_rated"),
        flag(exists().where(ResidentRating.case_id == Case.id, ResidentRating.rating.in_(SATISFIED)))
        .label("resident_satisfied"),
        flag(fields.c.risk_level == "red").label("red_cases"),
        flag(exists().where(CaseTask.case_id == Case.id, CaseTask.form_key == LEADER_FORM,
                            CaseTask.state == "completed")).label("leader_cases"),
        red_revisits.label("red_revisits"),
        *keys(group_by),
    ).select_from(Case).outerjoin(fields, fields.c.case_id == Case.id).where(
        Case.process_key.in_(COUNTED_PROCESSES), Case.status != "cancelled", counted,
        case_in_scope(principal, many=True))
    return registered(statement, filters).subquery("facts")


def _keys(name: str | None, category, channel, dialect: str) -> list:
    """Only the grouping column asked for: the others cost a lookup per case."""
    if name is None:
        return []
    column = {"town": lambda: _unit_above("town"), "village": lambda: _unit_above("village"),
              "jurisdiction": lambda: Case.jurisdiction,  # the KPIs' towns and villages (service._by_unit)
              "category": lambda: _catalogued(category), "channel": lambda: channel,
              "month": lambda: _month(dialect), "first_handler": lambda: Case.first_handler}[name]()
    return [column.label(name)]


def facts(principal: Principal, filters: Filters, now: datetime, dialect: str, group_by: str | None = None):
    """One row per counted case: its id, its 0/1 flags (one per count KPI), the one-key response
    seconds and the grouping key asked for. The case's own facts are its ``case_facts`` row (the
    repeat-dispute flag among them, kept by the writes of both cases); what the clock or other
    tables change is added here: the ready tasks past due now (overdue, late closing and signing)
    and the residents' ratings."""
    stored = CaseFacts.__table__.c
    due = (select(CaseTask.case_id, func.count().label("tasks"),
                  func.max(case((CaseTask.form_key == FIRST_HANDLER_FORM, 1), else_=0)).label("sign"))
           .where(CaseTask.state == "ready", CaseTask.due_at < now).group_by(CaseTask.case_id).subquery("due"))
    rated = (select(ResidentRating.case_id, func.max(case((ResidentRating.rating.in_(SATISFIED), 1), else_=0))
                    .label("satisfied")).group_by(ResidentRating.case_id).subquery("rated"))

    def flag(condition):
        return case((condition, 1), else_=0)
    copied = ("cases", "leads", "resolved", "transferred", "closed", "revisited", "satisfied", "emergencies",
              "petitions", "recurrences", "one_key_calls", "one_key_answered", "one_key_in_time", "one_key_seconds",
              "first_signed", "red_cases", "leader_cases", "red_revisits")
    statement = select(
        Case.id.label("case_id"), *[stored[name] for name in copied],
        flag(and_(stored.closed == 1, stored.late_done == 0, due.c.tasks.is_(None))).label("closed_on_time"),
        func.coalesce(due.c.tasks, 0).label("overdue_tasks"), flag(due.c.tasks.is_not(None)).label("overdue_cases"),
        flag(stored.repeat_of.is_not(None)).label("repeats"),
        flag(and_(stored.first_signed == 1, stored.sign_late_done == 0, func.coalesce(due.c.sign, 0) == 0))
        .label("first_signed_on_time"),
        flag(rated.c.case_id.is_not(None)).label("resident_rated"),
        func.coalesce(rated.c.satisfied, 0).label("resident_satisfied"),
        *_keys(group_by, stored.category, stored.channel, dialect),
    ).select_from(Case).join(CaseFacts, stored.case_id == Case.id).outerjoin(due, due.c.case_id == Case.id) \
        .outerjoin(rated, rated.c.case_id == Case.id).where(stored.counted == 1, case_in_scope(principal, many=True))
    return registered(statement, filters).subquery("facts")


def registered(statement, filters: Filters):
    """Cases registered in the window and within the area."""
    if filters.start is not None:
        statement = statement.where(Case.created_at >= filters.start)
    if filters.end is not None:
        statement = statement.where(Case.created_at < filters.end)
    if filters.area:
        statement = statement.where(Case.jurisdiction.like(like_prefix(filters.area), escape="\\"))
    return statement


def window(start: date | None, end: date | None, area: str | None) -> Filters:
    """Inclusive calendar days as a registration window."""
    return Filters(day_start(start) if start else None, day_start(end + timedelta(days=1)) if end else None, area)

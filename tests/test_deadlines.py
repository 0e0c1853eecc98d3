"""Deadlines come from the SLA table and the working calendar, and follow the rule in force."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from engine.deadlines import Deadlines, Rule
from engine.definitions import SourceFile
from engine.errors import DefinitionInvalid
from engine.models import PendingTimer, SlaRule

from .conftest import FIXTURES

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def table(*rules: Rule, calendar=None) -> Deadlines:
    return Deadlines(rules=rules, calendar=calendar or {})


def test_natural_and_working_days_across_the_spring_festival(svc):
    deadlines = svc.deadlines
    friday = datetime(2026, 2, 13, 9, 0, tzinfo=CHINA)
    # 2026-02-14 (Sat) is a make-up working day; 15-23 Feb are holidays; 24 Feb is the next working day.
    assert deadlines.add_working_days(friday, 1) == datetime(2026, 2, 14, 9, 0, tzinfo=CHINA)
    assert deadlines.add_working_days(friday, 2) == datetime(2026, 2, 24, 9, 0, tzinfo=CHINA)
    assert deadlines.due("whistle_ack_normal", friday) == datetime(2026, 2, 14, 9, 0, tzinfo=CHINA)
    assert deadlines.due("whistle_ack_urgent", friday) == friday + timedelta(minutes=30)
    assert deadlines.due("mediation_limit", friday) == datetime(2026, 3, 13, 9, 0, tzinfo=CHINA)
    assert not deadlines.is_working_day(date(2026, 10, 1)) and deadlines.is_working_day(date(2026, 10, 10))


def test_rules_are_versioned_by_effective_date():
    old = Rule("revisit_first", "P7D", "natural", START)
    new = Rule("revisit_first", "P3D", "natural", START + timedelta(days=100))
    deadlines = table(new, old)
    assert deadlines.due("revisit_first", START + timedelta(days=1)) == START + timedelta(days=8)
    assert deadlines.due("revisit_first", START + timedelta(days=101)) == START + timedelta(days=104)
    with pytest.raises(KeyError):
        deadlines.due("nope", START)


def test_sla_key_sets_task_due_time_and_sla_due_sets_timer(svc, clock):
    workflows = FIXTURES.parent.parent / "workflows"
    files = [SourceFile(p.name, p.read_bytes()) for p in [workflows / "bpmn" / "quick_mediation.bpmn",
                                                          *(workflows / "forms").glob("quick_*.schema.json")]]
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, files, "test", clock.now())
    view = svc.cases.start("quick_mediation", {}, "grid", "/macheng/songbu/")
    assert view.tasks[0].due_at == clock.now() + timedelta(hours=24)
    view = svc.cases.complete_task(view.tasks[0].id, {
        "summary": "宅基地边界争议", "category": "山林土地", "party_count": 2, "amount": 20000}, "grid")
    [task] = view.tasks
    assert task.element_id == "mediate"
    with svc.db.read() as session:
        [timer] = session.scalars(select(PendingTimer))
    expected = datetime(2026, 4, 2, 1, 0, tzinfo=timezone.utc)  # clock starts 2026-03-02 01:00 UTC; P1M
    assert task.due_at == expected and timer.due_at == expected


def test_unknown_sla_keys_are_validation_errors(svc):
    xml = (FIXTURES / "t_simple.bpmn").read_text().replace(
        '<spiffworkflow:property name="dueIn" value="PT2H" />', '<spiffworkflow:property name="slaKey" value="no_such" />')
    with pytest.raises(DefinitionInvalid) as info:
        with svc.db.write() as session, session.begin():
            svc.registry.deploy(session, [SourceFile("t_simple.bpmn", xml.encode()),
                                          SourceFile("t_register.schema.json",
                                                     (FIXTURES / "t_register.schema.json").read_bytes())],
                                "t", svc.clock.now())
    assert [i.element_id for i in info.value.issues] == ["register"]
    assert "no_such" in info.value.issues[0].message


def test_seeded_table_has_the_statutory_defaults(svc):
    with svc.db.read() as session:
        rules = {r.key: r for r in session.scalars(select(SlaRule))}
    assert rules["judicial_confirmation"].duration == "P30D"
    assert rules["mediation_limit"].duration == "P1M"
    assert rules["whistle_ack_urgent"].duration == "PT30M"
    assert rules["whistle_ack_normal"].calendar == "working"

"""The sweep behind ``audit verify --all``: chains and state seals of every case without replay,
replay only for cases without a seal (and a sample); the same result from one process or several."""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from cunliao.audit_sweep import Plan, verify_all
from cunliao.cli import main
from engine.audit import GENESIS, SEAL_KEY, event_hash
from engine.models import Case, CaseEvent
from engine.verify import verify_in_db

from .conftest import deploy
from .test_audit import VILLAGE, raw


def cases(svc, clock, count: int) -> list[int]:
    """``count`` cases: every third finished, the others waiting at their second or first task."""
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    ids = []
    for n in range(count):
        view = svc.cases.start("t_simple", {"reporter": f"张{n}"}, "grid", VILLAGE)
        clock.advance(minutes=5)
        if n % 3:
            view = svc.cases.complete_task(view.tasks[0].id, {"summary": f"纠纷{n}", "amount": 5000 + n}, "grid")
        if n % 3 == 2:
            svc.cases.complete_task(view.tasks[0].id, {"outcome": "达成协议"}, "mediator")
        ids.append(view.case.id)
    return ids


def unseal(svc, case_id: int) -> None:
    """Make a case look written before seals existed: its events without seals, rehashed."""
    with svc.db.read() as session:
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))
    statements, head = [], GENESIS
    for event in events:
        payload = {k: v for k, v in event.payload.items() if k != SEAL_KEY}
        digest = event_hash(head, case_id, event.seq, event.type, event.actor, event.at, payload)
        statements.append(("UPDATE case_events SET payload = :p, prev_hash = :prev, hash = :h WHERE id = :id",
                           {"p": json.dumps(payload, ensure_ascii=False), "prev": head, "h": digest, "id": event.id}))
        head = digest
    statements.append(("UPDATE cases SET chain_head = :h WHERE id = :id", {"h": head, "id": case_id}))
    raw(svc, *statements)


def case_no(svc, case_id: int) -> str:
    with svc.db.read() as session:
        return session.get(Case, case_id).case_no


def test_sealed_cases_verify_without_replay(svc, clock, settings):
    ids = cases(svc, clock, 4)
    with svc.db.read() as session:
        last = session.scalars(select(CaseEvent).where(CaseEvent.case_id == ids[2])
                               .order_by(CaseEvent.seq.desc())).first()
        assert len(last.payload[SEAL_KEY]) == 64
    tally = verify_all(settings, workers=1)
    assert tally.ok and tally.cases == 4 and tally.sealed == 4 and tally.replayed == {}
    assert tally.events == 1 + 2 + 3 + 1


def test_a_state_row_changed_outside_the_engine_is_found(svc, clock, settings):
    ids = cases(svc, clock, 3)
    raw(svc, ("UPDATE cases SET status = 'completed' WHERE id = :id", {"id": ids[1]}))
    tally = verify_all(settings, workers=1)
    [failure] = tally.failures
    assert failure.case_no == case_no(svc, ids[1]) and failure.first_bad_event == 2
    assert "sealed" in failure.reason and tally.replayed == {}


def test_the_seal_finds_a_change_replay_cannot_see(svc, clock, settings):
    """A reformatted state loads into the same workflow, so replay passes it; the seal does not."""
    [case_id] = cases(svc, clock, 1)
    with svc.db.read() as session:
        state = session.get(Case, case_id).state
    reformatted = json.dumps(json.loads(state), indent=1)
    raw(svc, ("UPDATE cases SET state = :s WHERE id = :id", {"s": reformatted, "id": case_id}))
    with svc.db.read() as session:
        verdict = verify_in_db(session, svc.registry, svc.cases.script_engine, session.get(Case, case_id))
    assert not verdict.ok and verdict.sealed and "state_sha256" in verdict.diff
    assert verdict.as_dict()["state_sealed"] is True


def test_an_altered_event_is_found(svc, clock, settings):
    ids = cases(svc, clock, 3)
    raw(svc, ("UPDATE case_events SET actor = 'mallory' WHERE case_id = :id AND seq = 1", {"id": ids[2]}))
    [failure] = verify_all(settings, workers=1).failures
    assert failure.case_no == case_no(svc, ids[2]) and failure.first_bad_event == 1 and "hash" in failure.reason


def test_a_case_without_a_seal_is_replayed(svc, clock, settings):
    ids = cases(svc, clock, 3)
    unseal(svc, ids[0])
    tally = verify_all(settings, workers=1)
    assert tally.ok and tally.sealed == 2 and tally.replayed == {"unsealed": 1}
    raw(svc, ("UPDATE cases SET status = 'completed' WHERE id = :id", {"id": ids[0]}))
    [failure] = verify_all(settings, workers=1).failures
    assert failure.case_no == case_no(svc, ids[0]) and "differs from what its events produce" in failure.reason


def test_several_workers_give_what_one_gives(svc, clock, settings):
    ids = cases(svc, clock, 7)
    unseal(svc, ids[3])
    raw(svc, ("UPDATE cases SET status = 'cancelled' WHERE id = :id", {"id": ids[5]}),
        ("UPDATE case_events SET actor = 'mallory' WHERE case_id = :id AND seq = 1", {"id": ids[1]}))
    plan = Plan(sample=0.5, seed=7)
    one, two = verify_all(settings, plan, workers=1, batch=2), verify_all(settings, plan, workers=2, batch=2)
    summary = lambda t: (t.cases, t.events, t.sealed, t.replayed, [(v.case_no, v.first_bad_event) for v in t.failures])
    assert summary(one) == summary(two)
    assert one.cases == 7 and len(one.failures) == 2 and one.replayed["unsealed"] == 1


def test_a_sample_of_the_sealed_cases_is_replayed_as_well(svc, clock, settings):
    cases(svc, clock, 6)
    assert verify_all(settings, Plan(sample=1.0), workers=1).replayed == {"sampled": 6}
    assert verify_all(settings, Plan(replay="all"), workers=1).replayed == {"all": 6}
    some = verify_all(settings, Plan(sample=0.5, seed=3), workers=1)
    assert some.replayed == verify_all(settings, Plan(sample=0.5, seed=3), workers=1).replayed
    assert some.ok and some.replayed_events > 0 or some.replayed == {}


def test_the_command_exit_status(svc, clock, db_url, monkeypatch, tmp_path):
    ids = cases(svc, clock, 3)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    run = lambda *args: CliRunner().invoke(main, ["audit", "verify", *args], catch_exceptions=False)
    passed = run("--all", "--workers", "2")
    assert passed.exit_code == 0 and "3 of 3 cases verified (6 events)" in passed.output
    assert "3 sealed cases; replayed: none" in passed.output
    sampled = run("--all", "--replay-sample", "100", "--seed", "5", "--workers", "1")
    assert sampled.exit_code == 0 and "replayed: 3 sampled" in sampled.output and "seed 5" in sampled.output
    assert "replayed: 3 all" in run("--all", "--replay", "--workers", "1").output
    raw(svc, ("UPDATE cases SET data = '{}' WHERE id = :id", {"id": ids[1]}))
    failed = run("--all")
    assert failed.exit_code == 1 and f"FAIL {case_no(svc, ids[1])}: event 2" in failed.output
    assert "2 of 3 cases verified" in failed.output
    assert run(case_no(svc, ids[1])).exit_code == 1 and run(case_no(svc, ids[0])).exit_code == 0
    assert run(case_no(svc, ids[0]), "--replay").exit_code == 2  # a usage error: named cases always replay


def test_the_sample_alone_is_the_cases_the_sample_would_replay(svc, clock, settings):
    cases(svc, clock, 8)
    plan = Plan(sample=0.5, seed=3)
    within = verify_all(settings, plan, workers=1)
    alone = verify_all(settings, Plan(replay="all"), workers=2, only=plan.samples)
    assert alone.cases == alone.replayed.get("all", 0) == within.replayed.get("sampled", 0)
    assert alone.cases > 0 and alone.ok and alone.replayed_events == within.replayed_events

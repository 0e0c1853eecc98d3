"""P2 village_mediation (村级人民调解): scenario tests on a fake clock.

The helpers at the top are shared with test_process_intake.py and test_process_batches.py.
Every test deploys the whole library (workflows/bpmn + workflows/forms); the stub processes in
tests/fixtures/stubs/ are added only for a called process the library does not have yet.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from cunliao.cli import SOURCE_SUFFIXES
from engine.definitions import SourceFile
from engine.models import Case, CaseEvent, CaseTask, PendingTimer

from .conftest import deploy_library

pytestmark = pytest.mark.usefixtures("verify_all_cases")

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "workflows" / "forms"
STUBS = Path(__file__).parent / "fixtures" / "stubs"
GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
OWN_FORM_PREFIXES = ("intake_", "mediation_", "batches_")


# -- shared helpers ----------------------------------------------------------------------------

def library_files() -> list[SourceFile]:
    files = [SourceFile(p.name, p.read_bytes()) for d in ("workflows/bpmn", "workflows/forms", "workflows/documents")
             for p in sorted((ROOT / d).iterdir()) if p.name.endswith(SOURCE_SUFFIXES)]
    present = {f.name for f in files}
    for stub in sorted(STUBS.glob("*.bpmn")) if STUBS.exists() else ():
        if stub.name not in present:  # only until the real process exists
            files.append(SourceFile(stub.name, stub.read_bytes()))
    return files


@pytest.fixture
def library(svc):
    return {d.key: d for d in deploy_library(svc, library_files())}


def example(form_key: str) -> dict:
    return dict(json.loads((FORMS / f"{form_key}.schema.json").read_text(encoding="utf-8"))["examples"][0])


def ready(svc, case_id: int) -> list[CaseTask]:
    with svc.db.read() as session:
        return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                    .order_by(CaseTask.created_at, CaseTask.id)))


def case_of(svc, case_id: int) -> Case:
    with svc.db.read() as session:
        return session.get(Case, case_id)


def ready_ids(svc, case_id: int) -> list[str]:
    return [t.element_id for t in ready(svc, case_id)]


def do(svc, case_id: int, element_id: str, data: dict | None = None, **overrides):
    """Complete the ready task `element_id` with its form's example data, updated by `data`/overrides."""
    tasks = [t for t in ready(svc, case_id) if t.element_id == element_id]
    assert tasks, f"{element_id} is not ready; ready: {ready_ids(svc, case_id)} status {case_of(svc, case_id).status}"
    task = tasks[0]
    payload = example(task.form_key) if task.form_key else {}
    payload.update(data or {})
    payload.update(overrides)
    return svc.cases.complete_task(task.id, payload, "tester")


def advance(svc, clock, **delta) -> int:
    clock.advance(timedelta(**delta))
    return svc.cases.fire_due_timers()


def timers(svc, case_id: int) -> dict[str, object]:
    with svc.db.read() as session:
        return {t.element_id: t.due_at for t in session.scalars(select(PendingTimer).where(PendingTimer.case_id == case_id))}


def sent(svc, case_id: int) -> list[str]:
    """Names of the messages the case has thrown, in order."""
    with svc.db.read() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == "message_sent")
                                 .order_by(CaseEvent.seq))
        return [e.payload["name"] for e in events]


def own(task: CaseTask) -> bool:
    return bool(task.form_key) and task.form_key.startswith(OWN_FORM_PREFIXES)


def drive_foreign(svc, clock, case_id: int, answers: dict | None = None, stop=None, max_steps: int = 60) -> list[str]:
    """Drive the tasks and timers of processes owned by others (P3, P5) with their forms' examples
    plus `answers`, until the case completes, one of our own tasks is ready, or `stop(ids)` holds.
    Returns the element ids of the tasks it completed."""
    done: list[str] = []
    for _ in range(max_steps):
        case = case_of(svc, case_id)
        if case.status != "active" and case.status != "waiting":
            return done
        tasks = ready(svc, case_id)
        ids = [t.element_id for t in tasks]
        if stop is not None and stop(ids):
            return done
        if any(own(t) for t in tasks):
            return done
        if tasks:
            task = tasks[0]
            payload = example(task.form_key) if task.form_key else {}
            schema_fields = json.loads((FORMS / f"{task.form_key}.schema.json").read_text(encoding="utf-8"))["properties"] \
                if task.form_key else {}
            payload.update({k: v for k, v in (answers or {}).items() if k in schema_fields})
            svc.cases.complete_task(task.id, payload, "tester")
            done.append(task.element_id)
            continue
        due = timers(svc, case_id)
        assert due, f"case {case.case_no} waits with no task and no timer"
        target = min(due.values())
        now = clock.now().replace(tzinfo=None) if target.tzinfo is None else clock.now()
        clock.advance((target - now) + timedelta(seconds=1))
        svc.cases.fire_due_timers()
    raise AssertionError(f"case {case_id} did not settle; ready: {ready_ids(svc, case_id)}")


# -- P2 ----------------------------------------------------------------------------------------

def start_p2(svc, **data):
    view = svc.cases.start("village_mediation", {"risk_level": "yellow", **data}, "tester", GRID)
    return view.case.id


def to_sessions(svc, case_id: int) -> None:
    do(svc, case_id, "appoint")
    do(svc, case_id, "investigate")
    assert ready_ids(svc, case_id) == ["session"]


def test_every_form_of_mine_validates_its_example():
    forms = sorted(p for p in FORMS.glob("*.schema.json") if p.name.startswith(OWN_FORM_PREFIXES))
    assert len(forms) == 35  # with batches_red_revisit (weekly revisits of red cases)
    for path in forms:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["examples"], path.name
        for ex in schema["examples"]:
            errors = list(Draft202012Validator(schema).iter_errors(ex))
            assert not errors, (path.name, [e.message for e in errors])
        for name, prop in schema["properties"].items():
            assert prop.get("title"), (path.name, name)


def test_agreement_without_judicial_confirmation(svc, library, clock):
    cid = start_p2(svc)
    do(svc, cid, "appoint", conflict_of_interest=True)          # conflict of interest: choose again
    assert ready_ids(svc, cid) == ["appoint"]
    to_sessions(svc, cid)
    assert set(timers(svc, cid)) == {"reminder", "limit"}
    do(svc, cid, "session", session_outcome="继续调解")
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft")
    do(svc, cid, "sign", wants_judicial_confirmation=False)
    case = case_of(svc, cid)
    assert case.status == "completed"
    assert case.data["mediation_result"] == "agreement" and case.data["judicial_confirmation"] == "none"
    assert case.data["agreement_form"] == "书面" and case.data["performance_due"] == "2026-03-15"


def test_one_month_timeout_without_consent_terminates_and_guides_to_court(svc, library, clock):
    cid = start_p2(svc)
    to_sessions(svc, cid)
    assert advance(svc, clock, days=20, seconds=1) == 1          # day 20: reminder, the session stays open
    assert "mediation_deadline_reminder" in sent(svc, cid) and ready_ids(svc, cid) == ["session"]
    assert advance(svc, clock, days=10) == 0                       # one calendar month from 2 March = 31 days
    assert advance(svc, clock, days=1) == 1
    assert ready_ids(svc, cid) == ["consent"]
    do(svc, cid, "consent", consent_extend=False, consent_record="申请人不同意延期")
    assert case_of(svc, cid).data["termination_reason"].startswith("调解期满")
    do(svc, cid, "terminate", next_step="诉讼")
    case = case_of(svc, cid)
    assert case.status == "completed"
    assert (case.data["mediation_result"], case.data["handoff_route"]) == ("terminated", "court")


def test_one_month_timeout_with_consent_extends_by_the_extension_rule(svc, library, clock):
    cid = start_p2(svc)
    to_sessions(svc, cid)
    advance(svc, clock, days=31, seconds=1)                        # reminder and limit both due
    assert ready_ids(svc, cid) == ["consent"]
    do(svc, cid, "consent", consent_extend=True)
    assert ready_ids(svc, cid) == ["session"] and case_of(svc, cid).data["extension_count"] == 1
    limit = timers(svc, cid)["limit"]
    assert (limit - clock.now().replace(tzinfo=limit.tzinfo)).days in (29, 30)   # mediation_extension: one more month
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft", agreement_form="口头")                  # an oral agreement is recorded, not signed
    assert "sign" not in ready_ids(svc, cid)
    case = case_of(svc, cid)
    assert (case.data["mediation_result"], case.data["judicial_confirmation"]) == ("agreement", "none")


def test_escalation_signs_alert_police_and_escalate(svc, library, clock):
    cid = start_p2(svc)
    to_sessions(svc, cid)
    do(svc, cid, "session", escalation_signs=True, signs_description="一方扬言报复", session_outcome="继续调解")
    assert sent(svc, cid) == ["police_alert"] and case_of(svc, cid).data["risk_level"] == "orange"
    do(svc, cid, "session", escalation_signs=True, signs_description="持械威胁", session_outcome="需升级")
    case = case_of(svc, cid)
    assert case.status == "completed" and case.data["mediation_result"] == "escalate"
    assert case.data["risk_level"] == "red" and sent(svc, cid) == ["police_alert", "police_alert"]


def test_session_failure_escalates_to_the_town(svc, library, clock):
    cid = start_p2(svc)
    to_sessions(svc, cid)
    do(svc, cid, "session", session_outcome="调解不成")
    do(svc, cid, "terminate", next_step="升级至乡镇")
    assert case_of(svc, cid).data["mediation_result"] == "escalate"


@pytest.mark.parametrize("assessment,unresolved_next,expected", [
    ("已化解", "升级", None),                 # back to a session, which records the agreement
    ("未化解", "升级", "escalate"),
    ("未化解", "依法导入", "terminated"),
])
def test_five_batches_from_a_session(svc, library, clock, assessment, unresolved_next, expected):
    cid = start_p2(svc)
    to_sessions(svc, cid)
    do(svc, cid, "session", session_outcome="启动五个一批")
    do(svc, cid, "plan", paths=["法治教育"])
    do(svc, cid, "c_explain")
    do(svc, cid, "c_undertaking")
    extra = {"handoff_route": "arbitration"} if unresolved_next == "依法导入" else {}
    do(svc, cid, "assess", assessment=assessment, unresolved_next=unresolved_next, **extra)
    if expected is None:
        assert ready_ids(svc, cid) == ["session"]
        do(svc, cid, "session", session_outcome="达成协议")
        do(svc, cid, "draft")
        do(svc, cid, "sign", wants_judicial_confirmation=False)
        assert case_of(svc, cid).data["mediation_result"] == "agreement"
    elif expected == "terminated":
        do(svc, cid, "terminate", next_step="仲裁")
        case = case_of(svc, cid)
        assert (case.data["mediation_result"], case.data["handoff_route"]) == ("terminated", "arbitration")
    else:
        assert case_of(svc, cid).data["mediation_result"] == "escalate"


def _signed_with_confirmation(svc, cid):
    to_sessions(svc, cid)
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft")
    do(svc, cid, "sign", wants_judicial_confirmation=True)
    assert ready_ids(svc, cid) == ["jc_apply"]


def test_judicial_confirmation_confirmed_by_court_message(svc, library, clock):
    cid = start_p2(svc)
    _signed_with_confirmation(svc, cid)
    do(svc, cid, "jc_apply")
    assert case_of(svc, cid).status == "waiting"
    case_no = case_of(svc, cid).case_no
    svc.cases.deliver_message("judicial_confirmation_decided", {"case_no": case_no},
                              {"court_ruling": "confirmed", "court_case_no": "(2026)鄂1181民特1号"},
                              "court-1", "court")
    case = case_of(svc, cid)
    assert case.status == "completed"
    assert (case.data["mediation_result"], case.data["judicial_confirmation"]) == ("agreement", "confirmed")


def test_judicial_confirmation_rejected_then_mediated_again(svc, library, clock):
    cid = start_p2(svc)
    _signed_with_confirmation(svc, cid)
    do(svc, cid, "jc_apply")
    case_no = case_of(svc, cid).case_no
    svc.cases.deliver_message("judicial_confirmation_decided", {"case_no": case_no},
                              {"court_ruling": "rejected", "court_case_no": "(2026)鄂1181民特2号"},
                              "court-2", "court")
    assert ready_ids(svc, cid) == ["jc_rejected"]
    do(svc, cid, "jc_rejected", after_rejection="重新调解")
    assert ready_ids(svc, cid) == ["session"]
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft")
    do(svc, cid, "sign", wants_judicial_confirmation=False)
    assert case_of(svc, cid).data["mediation_result"] == "agreement"


def test_judicial_confirmation_rejected_guides_to_litigation_after_court_silence(svc, library, clock):
    cid = start_p2(svc)
    _signed_with_confirmation(svc, cid)
    do(svc, cid, "jc_apply")
    assert advance(svc, clock, days=18, seconds=1) == 1          # court_decision: 3 + 15 days
    assert ready_ids(svc, cid) == ["jc_follow"]
    do(svc, cid, "jc_follow", court_ruling="rejected")
    do(svc, cid, "jc_rejected", after_rejection="引导诉讼")
    case = case_of(svc, cid)
    assert case.status == "completed"
    assert (case.data["mediation_result"], case.data["handoff_route"]) == ("terminated", "court")


def test_judicial_confirmation_not_applied_or_expired(svc, library, clock):
    cid = start_p2(svc)
    _signed_with_confirmation(svc, cid)
    do(svc, cid, "jc_apply", jc_applied=False)
    assert case_of(svc, cid).data["mediation_result"] == "agreement"

    cid = start_p2(svc)
    _signed_with_confirmation(svc, cid)
    advance(svc, clock, days=20, seconds=1)
    assert sent(svc, cid) == ["judicial_confirmation_reminder"] and ready_ids(svc, cid) == ["jc_apply"]
    advance(svc, clock, days=10)
    case = case_of(svc, cid)
    assert case.status == "completed" and case.data["jc_expired"] is True
    assert (case.data["mediation_result"], case.data["judicial_confirmation"]) == ("agreement", "none")

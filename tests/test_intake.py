"""Intake from outside systems: per-channel API keys, JSON Schema bodies, idempotent pushes that start
lead_clue or dispute_intake, links to open cases, the status endpoint and the outbound webhook."""
from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from api.intake import service as intake
from api.intake.schemas import CHANNELS, schema_of, validate
from cunliao.cli import main as cli
from engine.models import Case, CaseTask

pytestmark = pytest.mark.usefixtures("verify_all_cases")

PROBLEM = "application/problem+json"
SCHEMAS = Path(__file__).resolve().parent.parent / "workflows" / "intake"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
GRID = VILLAGE + "songbu-yangjiawan-g1/"
ID_NO = "42118119800101123X"
SCREEN = json.loads((SCHEMAS.parent / "forms" / "lead_screen.schema.json").read_text("utf-8"))["examples"][0]


@pytest.fixture
def keys(svc):
    return {channel: {"X-Api-Key": intake.new_key(svc.db, channel, "test", svc.clock.now())} for channel in CHANNELS}


def body(channel: str, ref: str = "REF-1", **override) -> dict:
    data = copy.deepcopy(schema_of(channel)["examples"][0])
    data["source_ref"] = ref
    data.update(override)
    return data


def push(client, keys, channel, payload):
    return client.post(f"/api/v1/intake/{channel}", headers=keys[channel], json=payload)


def case_of(svc, case_no: str) -> Case:
    with svc.db.read() as session:
        return session.scalars(select(Case).where(Case.case_no == case_no)).one()


def ready(svc, case_id: int) -> list[CaseTask]:
    with svc.db.read() as session:
        return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")))


def test_every_channel_schema_is_valid_draft_2020_12_with_a_valid_example():
    for channel in CHANNELS:
        schema = json.loads((SCHEMAS / f"{channel}.schema.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["title"] and schema["properties"]["source_ref"]["title"] == "来源编号"
        assert not validate(channel, schema["examples"][0])


@pytest.mark.parametrize("channel", ["hotline_12345", "police_110", "court_divorce", "petition"])
def test_lead_channels_start_lead_clue_with_the_lead_data(client, svc, library, keys, channel):  # noqa: F811
    response = push(client, keys, channel, body(channel, f"{channel}-0001"))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["process_key"], answer["status"], answer["source_ref"]) == ("lead_clue", "active", f"{channel}-0001")
    # 双网融合: a 110 lead that is no police matter goes straight to the grid of its address (杨家湾村3组
    # is on the roster of 第一网格); the others are screened by the city centre first.
    first_step, place = ("网格入户核查", GRID) if channel == "police_110" else ("线索研判", VILLAGE)
    assert answer["steps"] == [first_step] and answer["linked_cases"] == []
    case = case_of(svc, answer["case_no"])
    assert case.jurisdiction == place and case.created_by == f"intake:{channel}"
    data = case.data
    assert (data["source"], data["source_ref"], data["channel"]) == (channel, f"{channel}-0001", "lead")
    if channel == "court_divorce":                     # a divorce, its parties named as the court names them
        assert data["lead_summary"].startswith("杨家湾村刘某诉丈夫") and data["category"] == "婚姻家庭"
        assert data["handler_unit"] == VILLAGE and data["address"] == "杨家湾村5组"
        assert [(p["name"], p["role"], p["role_reported"]) for p in data["parties"]] == [
            ("刘某", "申请人", "原告"), ("陈某", "被申请人", "被告")]
        assert all(p["phone"]["$pii"] == "phone" for p in data["parties"])
    else:
        assert data["lead_summary"].startswith("杨家湾村两户") and data["category"] == "邻里"
        assert data["category_reported"] == "邻里纠纷"
        assert data["handler_unit"] == VILLAGE and data["address"] == "杨家湾村3组"
        [party] = data["parties"]
        assert party["name"] == "张某" and party["id_no"]["$pii"] == "id_no" and ID_NO not in json.dumps(data)
    assert not data.get("linked_case_no")  # the intake found no open case to link
    extra = {"hotline_12345": "reply_by", "police_110": "incident_no", "court_divorce": "court_case_no",
             "petition": "petition_no"}[channel]
    assert data[extra] == body(channel)[extra]
    if channel == "hotline_12345":
        assert data["hotline_type"] == "general" and answer["reply_by"].startswith("2026-03-05T09:00")
        assert answer["reply_met"] is None


@pytest.mark.parametrize("channel, expected_channel, jurisdiction", [
    ("one_key_call", "one_key_call", GRID), ("grid_report", "grid_patrol", GRID)])
def test_case_channels_start_dispute_intake_with_registration_data(client, svc, library, keys, channel,  # noqa: F811
                                                                   expected_channel, jurisdiction):
    response = push(client, keys, channel, body(channel))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["process_key"] == "dispute_intake" and answer["steps"]
    case = case_of(svc, answer["case_no"])
    assert case.jurisdiction == jurisdiction and case.status in ("active", "waiting")
    data = case.data
    assert data["channel"] == expected_channel and data["occurred_at"] == "2026-03-01"
    assert data["summary"].startswith("杨家湾村两户") and data["address"] == "杨家湾村3组"
    assert data["title"].endswith("杨家湾村两户因排水沟堵塞争吵") and data["source_ref"] == "REF-1"
    assert data["parties"][0]["role"] == "申请人" and data["parties"][0]["phone"]["$pii"] == "phone"
    if channel == "one_key_call":
        assert data["caller_phone"]["$pii"] == "phone" and data["intake_mode"] == "当事人申请"
    else:
        assert data["grid_code"] == "songbu-yangjiawan-g1" and data["reporter"] == "李网格"


def test_a_one_key_call_without_parties_names_the_caller(client, svc, library, keys):  # noqa: F811
    payload = body("one_key_call", where={"address": "杨家湾村5组"})
    del payload["parties"]
    response = push(client, keys, "one_key_call", payload)
    assert response.status_code == 201, response.get_json()
    case = case_of(svc, response.get_json()["case_no"])
    # no unit given, but 杨家湾村5组 is on the roster of 第二网格: the call goes there, to its 组长
    assert case.jurisdiction == VILLAGE + "songbu-yangjiawan-g2/" and case.data["building_head_user"] == "louzhang2"
    assert case.data["parties"][0]["name"] == "来电群众" and case.data["parties"][0]["phone"]["masked"] == "138****1234"


def test_a_repeated_push_returns_the_same_record_and_starts_nothing(client, svc, library, keys):  # noqa: F811
    first = push(client, keys, "police_110", body("police_110", "110-A"))
    again = push(client, keys, "police_110", body("police_110", "110-A", what={"summary": "内容变了也不再立案"}))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["case_no"] == first.get_json()["case_no"]
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    # The same reference on another channel is another push.
    assert push(client, keys, "petition", body("petition", "110-A")).status_code == 201


@pytest.mark.parametrize("channel", ["police_110", "one_key_call"])
def test_a_push_sent_twice_at_once_starts_one_case_and_both_answers_name_it(app, svc, library, keys,  # noqa: F811
                                                                             channel):
    from .conftest import REPEATS
    from .test_exactly_once import together

    for round_ in range(REPEATS):
        payload = body(channel, f"TWICE-{round_}")
        answers = together(*[lambda: push(app.test_client(), keys, channel, payload)] * 2)
        assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
        assert answers[0].get_json()["case_no"] == answers[1].get_json()["case_no"] is not None
        with svc.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == round_ + 1


def test_a_malformed_body_is_a_problem_listing_each_bad_field(client, svc, library, keys):  # noqa: F811
    payload = body("hotline_12345", "")
    del payload["reply_by"]
    payload["what"]["summary"] = "短"
    payload["parties"][0]["id_no"] = "123"
    payload["when"]["occurred_at"] = "yesterday"
    payload["where"]["lat"] = 200
    payload["colour"] = "red"
    response = push(client, keys, "hotline_12345", payload)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["detail"] == "the request has invalid fields" and problem["message"]
    assert set(problem["errors"]) == {"source_ref", "reply_by", "what.summary", "parties.0.id_no",
                                      "when.occurred_at", "where.lat", "colour"}
    assert problem["errors"]["reply_by"] == "必填" and problem["errors"]["what.summary"].startswith("事项概要")
    for bad in ("not json", "[1, 2]"):
        answer = client.post("/api/v1/intake/petition", data=bad,
                             headers={**keys["petition"], "Content-Type": "application/json"})
        assert answer.status_code == 422 and answer.mimetype == PROBLEM
    unknown = push(client, keys, "grid_report", body("grid_report", grid_code="nowhere"))
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"grid_code": "单位编码不存在"}
    unknown = push(client, keys, "petition", body("petition", where={"unit_path": "/macheng/nowhere/"}))
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {"where.unit_path"}
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_api_keys_per_channel(client, svc, library, keys):  # noqa: F811
    url = "/api/v1/intake/petition"
    for headers in ({}, {"X-Api-Key": "ck_petition_wrong"}):
        answer = client.post(url, headers=headers, json=body("petition"))
        assert answer.status_code == 401 and answer.mimetype == PROBLEM and answer.get_json()["message"]
    other = client.post(url, headers=keys["police_110"], json=body("petition"))
    assert other.status_code == 403 and other.mimetype == PROBLEM
    assert client.get(f"{url}/REF-1", headers=keys["police_110"]).status_code == 403
    assert client.post("/api/v1/intake/fax", headers=keys["petition"], json={}).status_code == 404
    # A bearer token is no API key, and the intake routes need none.
    assert client.get("/api/v1/cases").status_code == 401
    with svc.db.write_engine.begin() as conn:
        conn.execute(intake.IntakeKey.__table__.update().values(revoked_at=svc.clock.now()))
    assert client.post(url, headers=keys["petition"], json=body("petition")).status_code == 401


def test_cli_prints_a_key_that_works_once_stored_hashed(client, svc, library, db_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["intake-key", "grid_report", "--label", "网格平台"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    with svc.db.read() as session:
        stored = session.scalars(select(intake.IntakeKey)).one()
    assert stored.channel == "grid_report" and stored.label == "网格平台" and key not in stored.key_hash
    assert client.post("/api/v1/intake/grid_report", headers={"X-Api-Key": key},
                       json=body("grid_report")).status_code == 201
    assert CliRunner().invoke(cli, ["intake-key", "fax"]).exit_code != 0


def test_a_lead_is_linked_to_the_open_case_of_the_same_party(client, svc, library, keys):  # noqa: F811
    open_case = svc.cases.start("dispute_intake", {"parties": [{"role": "申请人", "name": "张某", "id_no": ID_NO}]},
                                "grid", GRID).case
    # a police matter (police_matter: true) is screened by the city centre, with the link prefilled
    response = push(client, keys, "police_110", body("police_110", "110-LINK", what={"summary": "张某再次报警称邻居堵沟"},
                                                     police_matter=True))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert [(c["case_no"], c["match"]) for c in answer["linked_cases"]] == [(open_case.case_no, ["id_no"])]
    lead = case_of(svc, answer["case_no"])
    assert lead.data["linked_case_no"] == open_case.case_no
    # The status keeps the links; screening with the prefilled number ends the lead as linked.
    status = client.get("/api/v1/intake/police_110/110-LINK", headers=keys["police_110"]).get_json()
    assert status["linked_cases"][0]["case_no"] == open_case.case_no
    [screen] = ready(svc, lead.id)
    view = svc.cases.complete_task(screen.id, {**SCREEN, "linked_case_no": lead.data["linked_case_no"]}, "city")
    assert view.case.data["lead_result"] == "linked"


def test_links_by_phone_and_by_address_and_category(client, svc, library, keys):  # noqa: F811
    first = push(client, keys, "one_key_call", body("one_key_call", "C-1", parties=[]))
    assert first.status_code == 201
    by_phone = push(client, keys, "hotline_12345", body("hotline_12345", "H-1", what={"summary": "来电反映噪音扰民"},
                                                         where={"address": "别处"},
                                                         parties=[{"name": "某人", "phone": "138 0000 1234"}]))
    assert [c["match"] for c in by_phone.get_json()["linked_cases"]] == [["phone"]]
    same_place = push(client, keys, "petition", body("petition", "P-1", parties=[],
                                                     where={"address": " 杨家湾村３组 "},
                                                     what={"summary": "排水沟问题信访", "category": "邻里纠纷"}))
    linked = same_place.get_json()["linked_cases"]
    assert first.get_json()["case_no"] in [c["case_no"] for c in linked]
    assert ["address_category"] in [c["match"] for c in linked]
    elsewhere = push(client, keys, "petition", body("petition", "P-2", parties=[], where={"address": "龟山镇"},
                                                    what={"summary": "排水沟问题信访", "category": "邻里纠纷"}))
    assert elsewhere.get_json()["linked_cases"] == []


def test_status_endpoint(client, svc, library, keys):  # noqa: F811
    created = push(client, keys, "court_divorce", body("court_divorce", "FY-1")).get_json()
    status = client.get("/api/v1/intake/court_divorce/FY-1", headers=keys["court_divorce"])
    assert status.status_code == 200
    answer = status.get_json()
    assert {k: answer[k] for k in ("source_ref", "case_no", "process_key", "status", "steps")} == {
        "source_ref": "FY-1", "case_no": created["case_no"], "process_key": "lead_clue", "status": "active",
        "steps": ["线索研判"]}
    assert answer["updated_at"] and "reply_by" not in answer
    missing = client.get("/api/v1/intake/court_divorce/FY-404", headers=keys["court_divorce"])
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert client.get("/api/v1/intake/court_divorce/FY-1").status_code == 401


class _Receiver:
    def __init__(self, fail: bool = False) -> None:
        self.received: list[dict] = []
        received, self.fail = self.received, fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                received[-1]["idempotency_key"] = self.headers["Idempotency-Key"]
                self.send_response(500 if outer.fail else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_webhook_reports_a_12345_lead_only_after_it_changes(client, svc, library, keys, clock):  # noqa: F811
    receiver = _Receiver()
    try:
        created = push(client, keys, "hotline_12345", body("hotline_12345", "GD-1")).get_json()
        urls = intake.webhook_urls({"INTAKE_WEBHOOK_URLS": json.dumps({"hotline_12345": receiver.url}),
                                    "INTAKE_WEBHOOK_POLICE_110": "http://127.0.0.1:9/none"})
        assert set(urls) == {"hotline_12345", "police_110"}
        assert intake.report_changes(svc.db, urls, clock.now()) == 0  # the push's answer said it all
        lead = case_of(svc, created["case_no"])
        [screen] = ready(svc, lead.id)
        svc.cases.complete_task(screen.id, {**SCREEN, "linked_case_no": ""}, "city")
        receiver.fail = True
        assert intake.report_changes(svc.db, urls, clock.now()) == 0  # refused: retried next round
        receiver.fail = False
        assert intake.report_changes(svc.db, urls, clock.now()) == 1
        assert intake.report_changes(svc.db, urls, clock.now()) == 0  # reported once
    finally:
        receiver.server.shutdown()
    sent = receiver.received[-1]
    assert len(receiver.received) == 2 and sent["case_no"] == created["case_no"] and sent["source_ref"] == "GD-1"
    # The refused post and its retry carry one key: the receiver can tell a repeat.
    key = f"intake-hotline_12345-GD-1-v{sent['version']}"
    assert receiver.received[0]["idempotency_key"] == sent["idempotency_key"] == key
    assert sent["steps"] and sent["steps"] != ["线索研判"] and sent["version"] > created["version"]
    assert sent["reply_by"].startswith("2026-03-05T09:00") and sent["reply_met"] is None


def test_reply_met_tells_whether_the_12345_deadline_was_kept(svc, clock):
    from datetime import timedelta

    deadline = clock.now() + timedelta(days=1)
    case = Case(status="completed", completed_at=clock.now())
    assert intake._reply_met(deadline, case, [], clock.now()) is True
    late = CaseTask(element_id="feedback", state="completed", closed_at=deadline + timedelta(hours=1))
    assert intake._reply_met(deadline, Case(status="active"), [late], clock.now()) is False
    assert intake._reply_met(deadline, Case(status="active"), [], deadline + timedelta(seconds=1)) is False
    assert intake._reply_met(deadline, Case(status="active"), [], clock.now()) is None


def test_worker_jobs_include_the_intake_webhook_when_configured(svc, monkeypatch):
    from api.worker import worker_jobs

    base = len(worker_jobs(svc))
    monkeypatch.setenv("INTAKE_WEBHOOK_PETITION", "http://127.0.0.1:9/none")
    jobs = worker_jobs(svc)
    assert len(jobs) == base + 1 and jobs[-1]() == 0  # nothing changed, nothing posted, nothing broken
    monkeypatch.setenv("INTAKE_WEBHOOK_URLS", "not json")
    assert len(worker_jobs(svc)) == base + 1


def _form_example(form_key: str, **override) -> dict:
    return {**json.loads((SCHEMAS.parent / "forms" / f"{form_key}.schema.json").read_text("utf-8"))["examples"][0],
            **override}


def _complete(svc, case_id: int, element_id: str, data: dict, actor: str = "tester"):
    [task] = [t for t in ready(svc, case_id) if t.element_id == element_id]
    return svc.cases.complete_task(task.id, data, actor)


def test_cli_lists_and_revokes_keys_and_a_revoked_key_gets_401(client, svc, library, db_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    created = runner.invoke(cli, ["intake-key", "create", "petition", "--label", "信访系统"])
    old_usage = runner.invoke(cli, ["intake-key", "police_110"])
    assert created.exit_code == 0 and old_usage.exit_code == 0, (created.output, old_usage.output)
    key = created.output.strip()
    assert key.startswith("ck_petition_")
    assert push(client, {"petition": {"X-Api-Key": key}}, "petition", body("petition", "P-KEY")).status_code == 201
    listed = runner.invoke(cli, ["intake-key", "list"])
    assert listed.exit_code == 0, listed.output
    lines = [line.split("\t") for line in listed.output.splitlines()]
    assert [(cols[1], cols[3], cols[4]) for cols in lines] == [("petition", "active", "信访系统"),
                                                               ("police_110", "active", "")]
    assert key not in listed.output
    revoked = runner.invoke(cli, ["intake-key", "revoke", lines[0][0]])
    assert revoked.exit_code == 0 and "revoked key" in revoked.output, revoked.output
    assert "active" not in runner.invoke(cli, ["intake-key", "list"]).output.splitlines()[0]
    for answer in (client.post("/api/v1/intake/petition", headers={"X-Api-Key": key}, json=body("petition", "P-2")),
                   client.get("/api/v1/intake/petition/P-KEY", headers={"X-Api-Key": key})):
        assert answer.status_code == 401 and answer.mimetype == PROBLEM and answer.get_json()["message"]
    missing = runner.invoke(cli, ["intake-key", "revoke", "999"])
    assert missing.exit_code == 1 and "no intake key" in missing.output
    assert runner.invoke(cli, ["intake-key", "revoke", "x"]).exit_code == 2


def test_status_reports_the_case_a_converted_lead_became(client, svc, library, keys):  # noqa: F811
    created = push(client, keys, "police_110", body("police_110", "110-CONV")).get_json()
    assert created["converted_case"] is None
    lead = case_of(svc, created["case_no"])
    # no police matter: the grid verifies and answers 110 (双网融合), no city screening
    _complete(svc, lead.id, "verify", _form_example("lead_verify", lead_result="converted"))
    _complete(svc, lead.id, "feedback_grid", _form_example("lead_feedback"))
    answer = client.get("/api/v1/intake/police_110/110-CONV", headers=keys["police_110"]).get_json()
    assert answer["status"] == "completed" and answer["result"] == "converted"
    converted = answer["converted_case"]
    with svc.db.read() as session:
        case = session.get(Case, converted["case_id"])
    assert (converted["case_no"], converted["process_key"]) == (case.case_no, "dispute_intake")
    assert case.case_no != created["case_no"] and case.data["source_ref"] == "110-CONV"
    assert converted["status"] in ("active", "waiting")


def test_a_one_key_call_answered_in_time_records_its_response_time(client, svc, library, keys, clock):  # noqa: F811
    from datetime import timedelta

    created = push(client, keys, "one_key_call", body("one_key_call", "OK-1")).get_json()
    response = created["response"]
    assert response["answered_at"] is None and response["within_window"] is None and response["escalated_at"] is None
    assert response["due_at"] is not None
    clock.advance(timedelta(minutes=6))
    assert svc.cases.fire_due_timers() == 0
    case = case_of(svc, created["case_no"])
    _complete(svc, case.id, "register_onekey", _form_example("intake_register", channel="one_key_call"), "grid")
    clock.advance(timedelta(minutes=30))
    assert svc.cases.fire_due_timers() == 0  # answered: the window's timer is gone
    answer = client.get("/api/v1/intake/one_key_call/OK-1", headers=keys["one_key_call"]).get_json()
    assert answer["response"]["response_seconds"] == 360 and answer["response"]["within_window"] is True
    assert answer["response"]["escalated_at"] is None and "一键呼叫超时督办" not in answer["steps"]
    with svc.db.read() as session:
        [row] = session.scalars(select(intake.IntakeResponse)).all()
    assert (row.case_id, row.response_seconds, row.within_window, row.answered_by) == (case.id, 360, True, "grid")


def test_a_one_key_call_not_answered_escalates_to_the_village_then_the_town(client, svc, library, keys, clock,  # noqa: F811
                                                                           login):
    from datetime import timedelta

    created = push(client, keys, "one_key_call", body("one_key_call", "OK-2")).get_json()
    case = case_of(svc, created["case_no"])
    clock.advance(timedelta(minutes=10, seconds=1))
    assert svc.cases.fire_due_timers() == 1
    [village] = [t for t in ready(svc, case.id) if t.element_id == "onekey_escalate_village"]
    assert (village.role, village.jurisdiction) == ("village_secretary", VILLAGE)  # the village first
    answer = client.get("/api/v1/intake/one_key_call/OK-2", headers=keys["one_key_call"]).get_json()
    assert answer["response"]["within_window"] is False and answer["response"]["answered_at"] is None
    assert answer["response"]["escalated_at"] and answer["response"]["escalated_to"] == "village"
    assert "一键呼叫超时督办（村）" in answer["steps"]
    clock.advance(timedelta(minutes=20))
    assert svc.cases.fire_due_timers() == 1
    [escalation] = [t for t in ready(svc, case.id) if t.element_id == "onekey_escalate"]
    assert (escalation.role, escalation.jurisdiction) == ("town_officer", "/macheng/songbu/")  # then the town
    # The escalation shows in the town officer's inbox; the late answer is still recorded, as late.
    inbox = client.get("/api/v1/tasks", headers=login("town")).get_json()
    assert escalation.id in json.dumps(inbox)
    clock.advance(timedelta(minutes=5))
    _complete(svc, case.id, "register_onekey", _form_example("intake_register", channel="one_key_call"))
    late = client.get("/api/v1/intake/one_key_call/OK-2", headers=keys["one_key_call"]).get_json()["response"]
    assert late["response_seconds"] == 2101 and late["within_window"] is False and late["escalated_to"] == "town"
    assert late["answered_role"] == "grid_worker"
    assert {t.element_id for t in ready(svc, case.id)} == {"notice"}  # the answer withdrew the escalations

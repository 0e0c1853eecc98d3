"""The practice's scenarios of issue 13, through HTTP with the seeded demo logins only: each step is
done by whoever has it in their inbox, and each scenario asserts who did which step and how the
statistics moved. (c) a red case through 五个一批 with 领导包案 and its weekly revisits; (d) a 12345
lead and a court divorce lead whose risk the women's federation (妇联) raises."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.intake import service as intake
from engine.models import PendingTimer

from .process_support import example
from .test_assignment_scenarios import _case_id, _hotline, inbox, start, who_did
from .test_process_mediation import library  # noqa: F401 - the bundled processes, deployed

pytestmark = pytest.mark.usefixtures("verify_all_cases")


@pytest.fixture
def login(login, clock):
    """The demo logins, signed in again only when the clock has moved on (a sign-in hashes the
    password; a token lasts 8 hours)."""
    tokens: dict[str, tuple] = {}

    def _login(username: str) -> dict[str, str]:
        issued, headers = tokens.get(username, (None, None))
        if issued is None or clock.now() - issued > timedelta(hours=1):
            issued, headers = clock.now(), login(username)
            tokens[username] = (issued, headers)
        return headers
    return _login

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
# Every demo login a bundled lane of the 宋埠镇 side names (README), in the order steps are looked for.
LOGINS = ("grid", "mediator", "secretary", "town", "director", "justice", "police", "city", "leader", "dept",
          "dept_fulian")
RED = {"category": "婚姻家庭", "wuxiao": False, "involved_count": 3, "amount": 0, "risk_flags": ["家暴"],
       "emergency": False}


def totals(client, login) -> dict:
    return client.get("/api/v1/stats/kpis", headers=login("city")).get_json()["totals"]


def step(client, login, case_id: int, overrides: dict, only: str | None = None) -> tuple[str, str] | None:
    """Complete one open task of the case (``only`` that element) as the first demo login that has
    it; (element, login)."""
    for user in LOGINS:
        headers = login(user)
        for element_id, task in inbox(client, headers, case_id).items():
            if task["assignee"] not in (None, user) or only not in (None, element_id):
                continue
            if task["assignee"] is None:
                claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
                assert claimed.status_code == 200, claimed.get_json()
            body = {**(example(task["form_key"]) if task["form_key"] else {}), **overrides.get(element_id, {})}
            done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": body})
            assert done.status_code == 200, (element_id, user, done.get_json())
            return element_id, user
    return None


def drive(client, login, svc, clock, case_id: int, overrides: dict, until=lambda done: False,
          idle_waits: int = 20) -> list[tuple[str, str]]:
    """Steps until ``until(steps)`` or the case ends; when nobody has a step, the clock moves to the
    case's next timer (the worker fires it)."""
    steps: list[tuple[str, str]] = []
    idle = 0
    while not until(steps):
        case = client.get(f"/api/v1/cases/{case_id}", headers=login("city")).get_json()
        if case["status"] == "completed":
            break
        done = step(client, login, case_id, overrides)
        if done:
            steps.append(done)
            idle = 0
            continue
        idle += 1
        with svc.db.read() as session:
            due = session.scalar(select(func.min(PendingTimer.due_at)).where(PendingTimer.case_id == case_id))
        assert idle <= idle_waits and due is not None, f"stuck after {steps[-3:]}"
        clock.advance(max(due - clock.now(), timedelta(0)) + timedelta(seconds=1))
        svc.cases.fire_due_timers()
    return steps


def test_c_a_red_case_through_five_batches_with_a_leader_and_weekly_revisits(client, login, svc, library, clock):
    before = totals(client, login)
    case_id = start(client, login("grid"), "dispute_intake", GRID)["id"]
    overrides = {"classify": RED, "plan": {"paths": ["法治教育"]}, "assess": {"assessment": "已化解"},
                 "revisit": {"satisfaction": "满意"}}
    steps = drive(client, login, svc, clock, case_id, overrides, until=lambda s: s and s[-1][0] == "a_assign")
    assert ("a_assign", "leader") in steps                                   # the 包案领导 takes the case
    # A week under the leader: the weekly revisit appears in the leader's inbox, and again the next week.
    for week in (1, 2):
        clock.advance(timedelta(days=7, minutes=1))
        svc.cases.fire_due_timers()
        revisit = inbox(client, login("leader"), case_id).get("a_revisit")
        assert revisit and revisit["role"] == "leader", week
        assert step(client, login, case_id, {}, only="a_revisit") == ("a_revisit", "leader")
    assert "a_revisit" not in inbox(client, login("city"), case_id)         # nobody else is asked
    steps += drive(client, login, svc, clock, case_id, overrides)
    done = who_did(svc, case_id)
    assert (done["a_assign"], done["a_work"], done["a_revisit"]) == ("leader", "leader", "leader")
    assert done["classify"] != "leader" and done["plan"] != "leader"
    case = client.get(f"/api/v1/cases/{case_id}", headers=login("city")).get_json()
    assert case["status"] == "completed"
    after = totals(client, login)
    assert after["cases"] == before["cases"] + 1
    assert (after["red_cases"], after["leader_cases"]) == (before["red_cases"] + 1, before["leader_cases"] + 1)
    assert after["red_revisits"] == before["red_revisits"] + 2
    assert after["closed"] == before["closed"] + 1
    behind = client.get("/api/v1/stats/kpis/red_revisits/cases", headers=login("city"))
    if behind.status_code == 200:                                             # the drill-down, where it exists
        assert case_id in [c["id"] for c in behind.get_json()["items"]]


def test_d_a_hotline_lead_and_a_divorce_lead_whose_risk_the_womens_federation_raises(client, login, svc, library,
                                                                                     clock):
    before = totals(client, login)
    hotline = intake.new_key(svc.db, "hotline_12345", "test", svc.clock.now())
    court = intake.new_key(svc.db, "court_divorce", "test", svc.clock.now())
    body = _hotline("12345-D", {"address": "杨家湾村3组", "unit_code": "songbu-yangjiawan-g1"})
    body["what"] = {**body["what"], "summary": "村民王某称邻居借款三万元逾期不还", "category": "债务纠纷"}
    pushed = client.post("/api/v1/intake/hotline_12345", headers={"X-Api-Key": hotline}, json=body)
    assert pushed.status_code == 201, pushed.get_json()
    lead_12345 = _case_id(client, login("city"), pushed.get_json()["case_no"])
    data = client.get(f"/api/v1/cases/{lead_12345}", headers=login("city")).get_json()["data"]
    assert (data["category"], data["category_reported"]) == ("债务", "债务纠纷")   # one of the three focus types
    from api.intake.schemas import schema_of
    divorce_body = {**schema_of("court_divorce")["examples"][0], "source_ref": "FY-D"}
    assert [p["role"] for p in divorce_body["parties"]] == ["原告", "被告"]   # the court's own words
    pushed = client.post("/api/v1/intake/court_divorce", headers={"X-Api-Key": court}, json=divorce_body)
    assert pushed.status_code == 201, pushed.get_json()
    lead_divorce = _case_id(client, login("city"), pushed.get_json()["case_no"])
    data = client.get(f"/api/v1/cases/{lead_divorce}", headers=login("city")).get_json()["data"]
    assert [(p["role"], p.get("role_reported")) for p in data["parties"]] == [("申请人", "原告"), ("被申请人", "被告")]

    # 12345: screened by the city, checked by the grid worker of the address, kept under watch.
    drive(client, login, svc, clock, lead_12345, {"screen": {"risk_flags": [], "category": "债务"}, "verify": {"lead_result": "monitor"}},
          until=lambda s: any(e == "feedback" for e, _ in s))
    done = who_did(svc, lead_12345)
    assert (done["screen"], done["verify"], done["feedback"]) == ("city", "grid", "city")

    # Divorce: no risk seen at screening; 妇联 finds domestic violence in the joint screening.
    step_done = step(client, login, lead_divorce, {"screen": {"risk_flags": [], "repeat_contacts_30d": 0}})
    assert step_done == ("screen", "city")
    lead = client.get(f"/api/v1/cases/{lead_divorce}", headers=login("city")).get_json()["data"]
    assert (lead["risk_score"], lead["lead_red"]) == (0, False)
    fulian = inbox(client, login("dept_fulian"), lead_divorce)
    assert "joint_fulian" in fulian
    drive(client, login, svc, clock, lead_divorce, {
        "joint_fulian": {"fulian_risk": True, "fulian_risk_flags": ["家暴", "涉未成年人"],
                         "fulian_opinion": "女方反映男方酒后动手，子女受惊吓"}},
        until=lambda s: any(e == "joint_fulian" for e, _ in s) and not inbox(client, login("police"), lead_divorce)
        and not inbox(client, login("justice"), lead_divorce))
    lead = client.get(f"/api/v1/cases/{lead_divorce}", headers=login("city")).get_json()["data"]
    assert lead["risk_score"] == 40 and lead["lead_red"] is True and lead["verify_key"] == "lead_verify_red"
    assert set(lead["risk_flags"]) == {"家暴", "涉未成年人"}
    drive(client, login, svc, clock, lead_divorce, {"verify": {"lead_result": "converted"}})
    done = who_did(svc, lead_divorce)
    assert (done["screen"], done["joint_fulian"], done["joint_police"], done["joint_tribunal"], done["verify"]) == (
        "city", "dept_fulian", "police", "justice", "grid")
    # The case the lead became starts with the 妇联's findings, for P1's risk grading (risk_grading.dmn).
    status = client.get("/api/v1/intake/court_divorce/FY-D", headers={"X-Api-Key": court}).get_json()
    converted = client.get(f"/api/v1/cases/{status['converted_case']['case_id']}", headers=login("city")).get_json()
    assert "家暴" in converted["data"]["risk_flags"] and converted["data"]["lead_risk_score"] == 40
    by_category = client.get("/api/v1/stats/kpis?group_by=category", headers=login("city")).get_json()["groups"]
    assert {g["key"]: g["leads"] for g in by_category}.get("债务") == 1
    after = totals(client, login)
    # The 12345 lead counts as a lead; the divorce lead became a case (counted once, as the case).
    assert after["leads"] == before["leads"] + 1 and after["cases"] == before["cases"] + 1
    assert after["screened"] == before["screened"] + 2

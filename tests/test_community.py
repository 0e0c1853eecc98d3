"""Community work (api/community): 五会一队 rosters and a 五老 member appointed to a mediation and
counted; a 警民恳谈会 whose raised issue becomes a case (and one a lead) in one step, with monthly
counts; 干部联系提示卡 coverage; 六大行动 tags and counts; visits by 镇村干部 and patrols by a team member
with the daily hours per person. Demo logins only, through HTTP; scoping and masking checked."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

PROBLEM = "application/problem+json"
C = "/api/v1/community"
VILLAGE = "songbu-yangjiawan"
VILLAGE_PATH = "/macheng/songbu/songbu-yangjiawan/"
G1 = "songbu-yangjiawan-g1"
G1_PATH = VILLAGE_PATH + "songbu-yangjiawan-g1/"
OTHER_VILLAGE = "guishan-guifeng"
CST = timezone(timedelta(hours=8))

pytestmark = pytest.mark.usefixtures("verify_all_cases")


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json()


def events_of(client, headers, case_id):
    return ok(client.get(f"/api/v1/cases/{case_id}/events?page_size=200", headers=headers))["items"]


def kpis(client, headers, **query):
    return ok(client.get("/api/v1/stats/kpis", headers=headers, query_string=query))


# --- (g) a 五老 member appointed to a mediation and counted ------------------------------------

def test_wulao_member_appointed_to_a_mediation_and_counted(client, login, library):
    town, mediator, grid = login("town"), login("mediator"), login("grid")
    org = ok(client.post(f"{C}/orgs", headers=town, json={"village": VILLAGE, "kind": "wulao"}), 201)
    assert (org["name"], org["area_path"], org["kind_name"]) == ("杨家湾村五老和谐会", VILLAGE_PATH, "五老和谐会")
    problem(client.post(f"{C}/orgs", headers=mediator, json={"village": VILLAGE, "kind": "wulao"}), 409)
    assert "kind" in problem(client.post(f"{C}/orgs", headers=town, json={"village": VILLAGE, "kind": "x"}),
                             422)["errors"]
    problem(client.post(f"{C}/orgs", headers=mediator, json={"village": OTHER_VILLAGE, "kind": "wulao"}), 404)
    problem(client.post(f"{C}/orgs", headers=login("auditor"), json={"village": VILLAGE, "kind": "hongbai"}), 403)

    elder = ok(client.post(f"{C}/orgs/{org['id']}/members", headers=mediator, json={
        "name": "陈老师", "title": "退休教师", "phone": "13912345678"}), 201)
    assert elder["phone"] == "139****5678"
    ok(client.post(f"{C}/orgs/{org['id']}/members", headers=mediator, json={"name": "周老", "title": "老党员"}), 201)
    assert "phone" in problem(client.post(f"{C}/orgs/{org['id']}/members", headers=mediator, json={
        "name": "坏号码", "phone": "12345"}), 422)["errors"]
    roster = ok(client.get(f"{C}/orgs/{org['id']}", headers=grid))
    assert [m["name"] for m in roster["members"]] == ["陈老师", "周老"] and "13912345678" not in str(roster)
    problem(client.get(f"{C}/orgs/{org['id']}", headers=login("dept")), 404)
    assert [o["id"] for o in ok(client.get(f"{C}/orgs", headers=grid))] == [org["id"]]  # the grid's own village
    assert [o["member_count"] for o in ok(client.get(f"{C}/orgs?area={VILLAGE}&kind=wulao", headers=town))] == [2]
    assert ok(client.get(f"{C}/orgs?area={OTHER_VILLAGE}", headers=login("city"))) == []

    # A neighbour quarrel the grid worker started in the grid; the village mediator brings in 陈老师.
    case = ok(client.post("/api/v1/cases", headers=grid, json={"process_key": "quick_mediation",
                                                               "title": "排水沟纠纷"}), 201)
    before = ok(client.get(f"{C}/participations?area={VILLAGE}", headers=town))
    assert before[0]["appointments"] == 0
    made = ok(client.post(f"{C}/cases/{case['id']}/appointments", headers=mediator,
                          json={"member_id": elder["id"], "role": "主持调解"}), 201)
    assert (made["appointed_by"], made["member_name"], made["case_no"]) == ("mediator", "陈老师", case["case_no"])
    problem(client.post(f"{C}/cases/{case['id']}/appointments", headers=mediator, json={"member_id": elder["id"]}),
            409)
    appointed = [e for e in events_of(client, grid, case["id"]) if e["type"] == "mediator_appointed"]
    assert [(e["actor"], e["payload"]["member"], e["payload"]["role"]) for e in appointed] == \
        [("mediator", "陈老师", "主持调解")]
    assert [a["member_name"] for a in ok(client.get(f"{C}/cases/{case['id']}/appointments", headers=grid))] == \
        ["陈老师"]

    counted = ok(client.get(f"{C}/participations?area={VILLAGE}&month=2026-03", headers=town))
    assert counted[0]["appointments"] == 1
    assert [(m["name"], m["appointments"]) for m in counted[0]["members"]] == [("陈老师", 1), ("周老", 0)]
    assert ok(client.get(f"{C}/participations?month=2026-04", headers=town))[0]["appointments"] == 0
    assert ok(client.get(f"{C}/orgs/{org['id']}", headers=town))["members"][0]["participations"] == 1

    # A member off the roster is not appointed; a case of another town is not reachable.
    ok(client.patch(f"{C}/members/{roster['members'][1]['id']}", headers=mediator, json={"active": False}))
    assert "member_id" in problem(client.post(f"{C}/cases/{case['id']}/appointments", headers=mediator, json={
        "member_id": roster["members"][1]["id"]}), 422)["errors"]
    other = ok(client.post("/api/v1/cases", headers=login("city"), json={
        "process_key": "quick_mediation", "title": "龟山镇纠纷", "jurisdiction": "/macheng/guishan/guishan-guifeng/"}), 201)
    problem(client.post(f"{C}/cases/{other['id']}/appointments", headers=mediator, json={"member_id": elder["id"]}),
            404)
    assert "member_id" in problem(client.post(f"{C}/cases/{other['id']}/appointments", headers=login("city"),
                                              json={"member_id": elder["id"]}), 422)["errors"]


# --- (f) a 警民恳谈会 whose raised issue becomes a case ---------------------------------------

def test_police_meeting_issue_becomes_a_case_and_a_lead_counted_by_month(client, login, library):
    town, mediator, grid, city = login("town"), login("mediator"), login("grid"), login("city")
    cases_before = kpis(client, city)["totals"]
    meeting = ok(client.post(f"{C}/events", headers=mediator, json={
        "area": VILLAGE, "kind": "police_meeting", "held_on": "2026-03-01", "place": "杨家湾村委会",
        "attendees": 36, "police_present": ["宋埠派出所 刘警官", "辅警 陈某"], "topics": ["防诈骗", "邻里矛盾"],
        "campaigns": ["public_order"]}), 201)
    assert meeting["kind_name"] == "警民恳谈会" and meeting["area_path"] == VILLAGE_PATH
    assert meeting["campaigns"] == ["public_order"] and meeting["created_by"] == "mediator"
    problem(client.post(f"{C}/events", headers=mediator, json={
        "area": OTHER_VILLAGE, "kind": "police_meeting", "held_on": "2026-03-01", "place": "x"}), 404)

    raised = ok(client.post(f"{C}/events/{meeting['id']}/issues", headers=mediator, json={
        "description": "两户因宅基地边界多次争吵", "raised_by": "张某", "phone": "13800001111", "outcome": "case",
        "category": "邻里纠纷", "address": "杨家湾村3组", "grid": G1}), 201)
    assert raised["outcome"] == "case" and raised["case_no"] and raised["created_by"] == "mediator"
    case = ok(client.get(f"/api/v1/cases/{raised['case_id']}", headers=grid))
    assert case["process_key"] == "dispute_intake" and case["jurisdiction"] == G1_PATH
    assert case["data"]["source_ref"] == f"event-{meeting['id']}-1" and case["data"]["channel"] == "walk_in"
    assert case["data"]["parties"][0]["phone"] == "138****1111"
    assert events_of(client, grid, case["id"])[0]["actor"] == "mediator"  # who started it
    [register] = [t for t in ok(client.get("/api/v1/tasks", headers=grid)) if t["case_id"] == case["id"]]
    assert register["element_id"] == "register" and register["role"] == "grid_worker"

    lead = ok(client.post(f"{C}/events/{meeting['id']}/issues", headers=town, json={
        "description": "有人反映村口夜间有陌生人徘徊", "outcome": "lead"}), 201)
    lead_case = ok(client.get(f"/api/v1/cases/{lead['case_id']}", headers=town))
    assert lead_case["process_key"] == "lead_clue" and lead_case["data"]["handler_unit"] == VILLAGE_PATH
    ok(client.post(f"{C}/events/{meeting['id']}/issues", headers=mediator, json={"description": "希望增设路灯"}), 201)
    problem(client.post(f"{C}/events/{meeting['id']}/issues", headers=mediator, json={
        "description": "x", "outcome": "case", "grid": "guishan-guifeng-g1"}), 404)

    post = ok(client.post(f"{C}/events", headers=town, json={
        "area": "songbu", "kind": "post_legal", "held_on": "2026-04-10", "place": "宋埠镇综治中心", "attendees": 12}), 201)
    counts = ok(client.get(f"{C}/event-counts?year=2026", headers=town))
    assert counts == [
        {"month": "2026-03", "kind": "police_meeting", "kind_name": "警民恳谈会", "events": 1, "attendees": 36,
         "issues": 3, "leads": 1, "cases": 1},
        {"month": "2026-04", "kind": "post_legal", "kind_name": "法律咨询服务岗", "events": 1, "attendees": 12,
         "issues": 0, "leads": 0, "cases": 0}]
    assert len(ok(client.get(f"{C}/event-counts?year=2026", headers=mediator))) == 1  # the village's, not the town's
    assert ok(client.get(f"{C}/event-counts?year=2026", headers=login("dept"))) == []
    assert [e["id"] for e in ok(client.get(f"{C}/events?month=2026-04", headers=town))] == [post["id"]]
    problem(client.get(f"{C}/events/{post['id']}", headers=mediator), 404)

    after = kpis(client, city)["totals"]
    assert (after["cases"], after["leads"]) == (cases_before["cases"] + 1, cases_before["leads"] + 1)


# --- 干部联系提示卡 --------------------------------------------------------------------------

def test_contact_cards_coverage_by_village_and_households_without_card(client, login):
    grid, town = login("grid"), login("town")
    households = [ok(client.post("/api/v1/census/items", headers=grid, json={
        "grid": G1, "kind": "household", "name": name, "attributes": {}}), 201) for name in ("张三户", "李四户")]
    other = ok(client.post("/api/v1/census/items", headers=town, json={
        "grid": "songbu-xindian-g1", "kind": "household", "name": "王五户", "attributes": {}}), 201)
    card = ok(client.post(f"{C}/contact-cards", headers=grid, json={
        "household_id": households[0]["id"], "cadre": "村支书 李某", "contact": "13700001234",
        "issued_on": "2026-03-01"}), 201)
    assert card["contact"] == "137****1234" and card["household"] == "张三户" and card["area_path"] == G1_PATH
    assert "household_id" in problem(client.post(f"{C}/contact-cards", headers=grid, json={
        "household_id": other["id"], "cadre": "x", "contact": "13700001234", "issued_on": "2026-03-01"}),
        422)["errors"]
    coverage = ok(client.get(f"{C}/contact-card-coverage", headers=town))
    assert [(c["village"], c["households"], c["with_card"], c["without_card"]) for c in coverage] == [
        ("新店村", 1, 0, 1), ("杨家湾村", 2, 1, 1)]
    missing = ok(client.get(f"{C}/households-without-card?area={VILLAGE}", headers=town))
    assert [h["name"] for h in missing] == ["李四户"]
    assert ok(client.get(f"{C}/contact-card-coverage", headers=login("dept"))) == []
    assert "13700001234" not in str(ok(client.get(f"{C}/contact-cards", headers=town)))


# --- 六大行动, visits by cadres, a member's patrol, hours per person -------------------------

def test_campaign_tags_counts_visits_and_patrols_by_everyone_named(client, login, library, clock):
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc))  # 18:00 in China
    town, mediator, grid = login("town"), login("mediator"), login("grid")
    team = ok(client.post("/api/v1/prevention/patrol-teams", headers=mediator, json={
        "area": VILLAGE, "name": "杨家湾村平安巡逻队", "members": [{"name": "李网格", "username": "grid"}]}), 201)
    # A grid worker sits below the team's village; as a member they log their own team's patrol.
    patrol = ok(client.post("/api/v1/prevention/patrol-logs", headers=grid, json={
        "team_id": team["id"], "started_at": "2026-03-03T08:00:00+08:00", "ended_at": "2026-03-03T10:00:00+08:00",
        "route": "村口—3组"}), 201)
    assert patrol["created_by"] == "grid"
    # 镇村干部 log door-to-door visits too.
    for headers, start, hours in ((mediator, 9, 4.5), (town, 14, 1), (grid, 13, 2.5)):
        ok(client.post("/api/v1/census/visits", headers=headers, json={
            "grid": G1, "started_at": datetime(2026, 3, 3, start, tzinfo=CST).isoformat(),
            "ended_at": (datetime(2026, 3, 3, start, tzinfo=CST) + timedelta(hours=hours)).isoformat(),
            "location": "杨家湾村3组"}), 201)
    problem(client.post("/api/v1/census/visits", headers=login("dept"), json={
        "grid": G1, "started_at": "2026-03-03T09:00:00+08:00", "ended_at": "2026-03-03T10:00:00+08:00",
        "location": "x"}), 403)
    hours = {r["person"]: r for r in ok(client.get(f"{C}/activity-hours?date=2026-03-03", headers=town))}
    assert (hours["grid"]["visit_hours"], hours["grid"]["patrol_hours"], hours["grid"]["hours"]) == (2.5, 2.0, 4.5)
    assert hours["grid"]["met"] and hours["mediator"]["met"] and not hours["town"]["met"]
    assert hours["town"]["target_hours"] == 4.0
    assert ok(client.get(f"{C}/activity-hours?date=2026-03-03", headers=login("dept"))) == []

    case = ok(client.post("/api/v1/cases", headers=grid, json={"process_key": "quick_mediation", "title": "纠纷"}), 201)
    event = ok(client.post(f"{C}/events", headers=town, json={
        "area": "songbu", "kind": "post_safety", "held_on": "2026-03-02", "place": "镇广场",
        "campaigns": ["safe_village", "rule_of_law"]}), 201)
    for target_type, target_id in (("case", case["id"]), ("patrol", patrol["id"])):
        tag = ok(client.post(f"{C}/campaign-tags", headers=mediator, json={
            "target_type": target_type, "target_id": target_id, "campaign": "safe_village"}), 201)
        assert tag["campaign_name"] == "平安村（社区）创建行动" and tag["tagged_by"] == "mediator"
    problem(client.post(f"{C}/campaign-tags", headers=mediator, json={
        "target_type": "case", "target_id": case["id"], "campaign": "safe_village"}), 409)
    problem(client.post(f"{C}/campaign-tags", headers=mediator, json={
        "target_type": "event", "target_id": event["id"], "campaign": "safe_village"}), 404)  # the town's event
    assert "campaign" in problem(client.post(f"{C}/campaign-tags", headers=mediator, json={
        "target_type": "case", "target_id": case["id"], "campaign": "nope"}), 422)["errors"]
    counts = {c["campaign"]: c for c in ok(client.get(f"{C}/campaign-counts?month=2026-03", headers=town))}
    assert len(counts) == 6
    assert (counts["safe_village"]["cases"], counts["safe_village"]["patrols"], counts["safe_village"]["events"],
            counts["safe_village"]["total"]) == (1, 1, 1, 3)
    assert counts["rule_of_law"]["total"] == 1 and counts["grassroots"]["total"] == 0
    village_counts = {c["campaign"]: c["total"] for c in ok(client.get(f"{C}/campaign-counts", headers=mediator))}
    assert village_counts["safe_village"] == 2 and village_counts["rule_of_law"] == 0
    tags = ok(client.get(f"{C}/campaign-tags?target_type=event&target_id={event['id']}", headers=town))
    assert [t["campaign"] for t in tags] == ["safe_village", "rule_of_law"]

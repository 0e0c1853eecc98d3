"""Statistics and safety ratings (api/stats/service.py, /api/v1/stats): cases driven through the real
process library on the fake clock, then counted. Every expected figure follows from the seeding
below (see docs/statistics.md for the definitions)."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from api.stats import service as stats
from api.stats.service import RatingRulesInvalid, validate_rules
from engine.clock import CHINA

from .test_process_mediation import FORMS, case_of, do, example, library, ready, ready_ids, timers  # noqa: F401

YANGJIAWAN = "/macheng/songbu/songbu-yangjiawan/"
XINDIAN = "/macheng/songbu/songbu-xindian/"
GUIFENG = "/macheng/guishan/guishan-guifeng/"
SONGBU, GUISHAN = "/macheng/songbu/", "/macheng/guishan/"
SATISFIED = {"satisfaction": "满意", "performed": True, "performance_ok": True, "recurrence": False}


def start(svc, grid: str, **register):
    cid = svc.cases.start("dispute_intake", {}, "grid", grid).case.id
    do(svc, cid, "register", **register)
    return cid


# 5,000 yuan: a yellow dispute the town triages (a green 五小 one goes straight to the village; those
# are counted in tests/test_scenarios_village.py)
YELLOW = {"amount": 5000}


def triage(svc, cid, classify=None, scope=None):
    do(svc, cid, "notice")
    do(svc, cid, "classify", {**YELLOW, **(classify or {})})
    do(svc, cid, "risk_confirm")
    do(svc, cid, "scope_check", scope or {})


def mediate_in_village(svc, cid, routed=False):
    if not routed:
        do(svc, cid, "route_confirm")
    for element_id in ("accept_village", "appoint", "investigate"):
        do(svc, cid, element_id)
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft")
    do(svc, cid, "sign", wants_judicial_confirmation=False)


def drive_together(svc, clock, answers: dict[int, dict]) -> None:
    """Drive the closure steps (P5) of several cases on one clock: every ready task is done at once
    with its form's example plus the case's answers, and the clock only jumps to the next timer
    when no task is ready, so no step of these cases is late."""
    for _ in range(300):
        live = [cid for cid in answers if case_of(svc, cid).status in ("active", "waiting")]
        if not live:
            return
        tasks = [t for cid in live for t in ready(svc, cid)]
        if tasks:
            task = tasks[0]
            fields = json.loads((FORMS / f"{task.form_key}.schema.json").read_text(encoding="utf-8"))["properties"]
            payload = {**example(task.form_key),
                       **{k: v for k, v in answers[task.case_id].items() if k in fields}}
            svc.cases.complete_task(task.id, payload, "tester")
            continue
        due = min(d for cid in live for d in timers(svc, cid).values())
        clock.advance(due - clock.now() + timedelta(seconds=1))
        svc.cases.fire_due_timers()
    raise AssertionError("the cases did not settle")


def seed(svc, clock) -> dict[str, int]:
    """B is registered on 2 March 2026 (China time), everything else on 4 March:

    杨家湾村: A resolved, 满意, 邻里, grid_patrol; B resolved, 基本满意, 婚姻家庭, walk_in, but signed for
              two days after its 24-hour deadline (late); C guided to court: transferred, revisited 满意;
              a merged duplicate and a cancelled case (not counted);
              L1 a 110 lead that turned out an emergency (transferred; vetoes the village);
              L2 a 12345 lead that proved a false alarm (not counted).
    龟峰村:   E resolved, 满意, 邻里, one_key_call.
    新店村:   D, still open: its 'notice' step is overdue when counted.
    Closing takes the 7-day revisit wait and the 90-day recurrence watch, so closures land in June.
    """
    ids = {}
    ids["B"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g2/", channel="walk_in")
    triage(svc, ids["B"], classify={"category": "婚姻家庭"})
    do(svc, ids["B"], "route_confirm")
    clock.advance(days=2)                                  # the village signs late; the director is reminded
    assert svc.cases.fire_due_timers() == 1
    do(svc, ids["B"], "supervise")
    mediate_in_village(svc, ids["B"], routed=True)

    ids["A"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/")
    triage(svc, ids["A"])
    mediate_in_village(svc, ids["A"])
    ids["C"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/")
    triage(svc, ids["C"], scope={"willing": False, "refusing_party": "李某"})
    do(svc, ids["C"], "guide", handoff_route="court")
    ids["E"] = start(svc, GUIFENG + "guishan-guifeng-g1/", channel="one_key_call")
    triage(svc, ids["E"])
    mediate_in_village(svc, ids["E"])

    ids["merged"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/", duplicate_of="MC-20260302-0001")
    ids["cancelled"] = svc.cases.start("dispute_intake", {}, "grid", YANGJIAWAN + "songbu-yangjiawan-g1/").case.id
    svc.cases.cancel(ids["cancelled"], "admin", "登记错误")
    ids["L1"] = lead(svc, "police_110", "110-1", "emergency")
    ids["L2"] = lead(svc, "hotline_12345", "12345-1", "false_alarm")
    ids["D"] = start(svc, XINDIAN + "songbu-xindian-g1/")

    drive_together(svc, clock, {ids["A"]: SATISFIED, ids["B"]: {**SATISFIED, "satisfaction": "基本满意"},
                                ids["C"]: {**SATISFIED, "court_case_no": "(2026)鄂1181民初1号"},
                                ids["E"]: SATISFIED})
    return ids


def lead(svc, source: str, ref: str, result: str) -> int:
    data = {"source": source, "source_ref": ref, "lead_summary": "两户争吵报警", "hotline_type": "general"}
    cid = svc.cases.start("lead_clue", data, "city", YANGJIAWAN).case.id
    do(svc, cid, "screen")
    do(svc, cid, "verify", lead_result=result)
    for element_id in ("emergency", "feedback"):
        if element_id in ready_ids(svc, cid):
            do(svc, cid, element_id)
    return cid


@pytest.fixture
def seeded(svc, library, clock):
    ids = seed(svc, clock)
    return ids


def test_seeding_reaches_the_intended_states(svc, seeded):
    states = {k: (case_of(svc, v).data.get("closure_state"), case_of(svc, v).data.get("lead_result"),
                  case_of(svc, v).status) for k, v in seeded.items()}
    assert all(states[k][2] == "completed" for k in ("A", "B", "C", "E", "merged", "L1", "L2"))
    assert states["A"][0] == states["B"][0] == states["E"][0] == "closed_resolved"
    assert states["C"][0] == "closed_transferred"
    assert states["L1"][1] == "emergency" and states["L2"][1] == "false_alarm"
    assert states["cancelled"][2] == "cancelled" and states["D"][2] == "active"


def kpis(client, headers, **query):
    response = client.get("/api/v1/stats/kpis", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_city_totals_and_groups(client, login, seeded):
    city = login("city")
    result = kpis(client, city, group_by="town")
    assert result["totals"] == {
        "screened": 6, "cases": 5, "leads": 1, "resolved": 3, "resolution_rate": 0.5, "transferred": 2,
        "closed": 5, "closed_on_time": 4, "on_time_rate": 0.8, "revisited": 4, "satisfied": 4,
        "satisfaction_rate": 1.0, "overdue_tasks": 1, "overdue_cases": 1, "emergencies": 1, "petitions": 0,
        "recurrences": 0, "repeats": 0, "one_key_calls": 0, "one_key_answered": 0, "one_key_in_time": 0,
        "one_key_rate": None, "one_key_response_seconds": None, "first_signed": 3, "first_signed_on_time": 2,
        "first_sign_rate": 0.6667, "resident_rated": 0, "resident_satisfied": 0, "resident_satisfaction_rate": None,
            "red_cases": 0, "leader_cases": 0, "red_revisits": 0}
    by_town = {g["key"]: g for g in result["groups"]}
    assert [(g["key"], g["label"]) for g in result["groups"]] == [(GUISHAN, "龟山镇"), (SONGBU, "宋埠镇")]
    assert (by_town[SONGBU]["screened"], by_town[SONGBU]["resolved"], by_town[SONGBU]["overdue_tasks"]) == (5, 2, 1)
    assert (by_town[GUISHAN]["screened"], by_town[GUISHAN]["resolution_rate"]) == (1, 1.0)

    by_village = {g["key"]: (g["label"], g["screened"], g["resolved"]) for g in kpis(client, city, group_by="village")["groups"]}
    assert by_village == {YANGJIAWAN: ("杨家湾村", 4, 2), XINDIAN: ("新店村", 1, 0), GUIFENG: ("龟峰村", 1, 1)}
    by_category = {g["key"]: (g["screened"], g["resolved"]) for g in kpis(client, city, group_by="category")["groups"]}
    assert by_category == {"邻里": (4, 2), "婚姻家庭": (1, 1), None: (1, 0)}
    by_channel = {g["label"]: g["screened"] for g in kpis(client, city, group_by="channel")["groups"]}
    assert by_channel == {"网格排查": 3, "来访": 1, "一键呼叫": 1, "110警情": 1}
    by_month = {g["key"]: g["screened"] for g in kpis(client, city, group_by="month")["groups"]}
    assert by_month == {"2026-03": 6}


def test_period_and_area_filters(client, login, seeded, clock):
    city = login("city")
    assert kpis(client, city, **{"from": "2026-01-01", "to": "2026-02-28"})["totals"]["screened"] == 0
    assert kpis(client, city, **{"from": "2026-03-01"})["totals"]["screened"] == 6
    only_b = kpis(client, city, **{"from": "2026-03-02", "to": "2026-03-03"})["totals"]   # China-time days
    assert (only_b["screened"], only_b["resolved"], only_b["closed_on_time"], only_b["on_time_rate"]) == (1, 1, 0, 0.0)
    assert kpis(client, city, area="songbu-xindian")["totals"]["screened"] == 1
    assert kpis(client, city, area=GUISHAN)["totals"]["resolved"] == 1


def test_a_town_officer_sees_only_their_town(client, login, seeded):
    town = login("town")
    result = kpis(client, town, group_by="town")
    assert result["totals"]["screened"] == 5
    assert [g["key"] for g in result["groups"]] == [SONGBU]
    response = client.get("/api/v1/stats/kpis", headers=town, query_string={"area": "guishan"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_excel_export(client, login, seeded):
    response = client.get("/api/v1/stats/kpis.xlsx", headers=login("city"), query_string={"group_by": "village"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book["统计"].iter_rows(values_only=True))
    assert rows[1][:6] == ("村(社区)", "排查数", "纠纷案件数", "苗头线索数", "化解数", "化解率")
    body = {row[0]: row[1:] for row in rows[2:]}
    assert body["杨家湾村"][0] == 4 and body["新店村"][0] == 1 and body["龟峰村"][0] == 1
    assert body["合计"][0] == 6 and body["合计"][3] == 3 and body["合计"][4] == 0.5
    assert "口径说明" in book.sheetnames


def test_safety_ratings_by_village(client, login, seeded):
    response = client.get("/api/v1/stats/safety-ratings", headers=login("city"),
                          query_string={"period": "2026-03", "level": "village"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["rules_version"] == "2026.1" and body["title"] == "平安村(社区)"
    items = {i["name"]: i for i in body["items"]}
    assert set(items) == {"杨家湾村", "新店村", "龟峰村", "石桥村"}
    assert (items["龟峰村"]["rating"], items["龟峰村"]["failed"]) == ("safe", [])
    assert items["龟峰村"]["rating_label"] == "平安村(社区)"
    # 应排尽排: 石桥村 recorded no screening at all, so its empty rates do not make it 平安.
    shiqiao = items["石桥村"]
    assert (shiqiao["rating"], shiqiao["rating_label"]) == ("unscreened", "未排查，不评平安")
    assert [r["id"] for r in shiqiao["failed"]] == ["screening_recorded"] and shiqiao["screening_records"] == 0
    assert "无排查不评平安" in shiqiao["screening"]["reason"]
    assert not any(r["applicable"] for r in shiqiao["met"] if r["metric"].endswith("_rate"))
    assert items["龟峰村"]["screening"]["screened"] == 1
    yang = items["杨家湾村"]
    assert yang["rating"] == "vetoed" and yang["rating_label"] == "一票否决"
    assert {r["id"] for r in yang["failed"]} == {"resolution_rate", "on_time_rate", "no_emergency"}
    assert {r["id"] for r in yang["met"]} == {"screening_recorded", "satisfaction_rate", "no_petition"}
    xin = items["新店村"]
    assert xin["rating"] == "not_met" and {r["id"] for r in xin["failed"]} == {"resolution_rate"}
    assert [r["actual"] for r in xin["failed"]] == [0.0]


def test_a_joint_screening_with_nothing_found_makes_a_village_rateable(client, login, seeded, clock):
    """A screening that found no dispute is a record (零报告), and a village with one is rated."""
    made = client.post("/api/v1/prevention/screening-lists", headers=login("secretary_sq"),
                       json={"area": "guishan-shiqiao", "title": "三月婚姻家庭风险联合排查", "period": "2026-03",
                             "screeners": ["妇联", "村调委会"]})
    assert made.status_code == 201, made.get_json()
    period = clock.now().astimezone(CHINA).strftime("%Y-%m")
    body = client.get("/api/v1/stats/safety-ratings", headers=login("city"),
                      query_string={"period": period, "level": "village"}).get_json()
    shiqiao = {i["name"]: i for i in body["items"]}["石桥村"]
    assert (shiqiao["rating"], shiqiao["screening"]["lists"], shiqiao["screening_records"]) == ("safe", 1, 1)
    assert "联合排查 1 次" in shiqiao["screening"]["reason"]


def test_safety_ratings_by_town_in_scope(client, login, seeded):
    body = client.get("/api/v1/stats/safety-ratings", headers=login("town"),
                      query_string={"period": "2026", "level": "town"}).get_json()
    assert [(i["name"], i["kpis"]["screened"]) for i in body["items"]] == [("宋埠镇", 5)]
    assert body["items"][0]["rating"] == "vetoed"


@pytest.mark.parametrize("query", [
    {"group_by": "grid"}, {"from": "2026-13-01"}, {"from": "2026-03-02", "to": "2026-03-01"},
])
def test_bad_kpi_query_is_a_problem(client, login, query):
    response = client.get("/api/v1/stats/kpis", headers=login("city"), query_string=query)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"]


@pytest.mark.parametrize("query", [{}, {"period": "2026-3"}, {"period": "2026", "level": "grid"}, {"period": "2025"}])
def test_bad_rating_query_is_a_problem(client, login, query):
    response = client.get("/api/v1/stats/safety-ratings", headers=login("city"), query_string=query)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_rules_file_is_validated_with_every_fault_named():
    document = json.loads((stats.Path(__file__).parent.parent / "workflows" / "safety_ratings.json").read_text("utf-8"))
    assert validate_rules(document)[0]["version"] == "2026.1"
    rule = document["versions"][0]["levels"]["village"]["rules"][0]
    rule.update(metric="happiness", op="≥", value=95)
    del document["versions"][0]["levels"]["town"]
    with pytest.raises(RatingRulesInvalid) as raised:
        validate_rules(document)
    message = str(raised.value)
    assert "versions[0].levels: must hold exactly 'village' and 'town'" in message
    with pytest.raises(RatingRulesInvalid) as raised:
        document["versions"][0]["levels"]["town"] = document["versions"][0]["levels"]["village"]
        validate_rules(document)
    message = str(raised.value)
    assert "levels.village.rules[0].metric" in message and "levels.village.rules[0].op" in message


def test_a_broken_rules_file_answers_503_with_the_fault(client, login, app, tmp_path):
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "safety_ratings.json").write_text('{"versions": []}', encoding="utf-8")
    app.extensions["cunliao"].settings.workflows_dir = workflows
    response = client.get("/api/v1/stats/safety-ratings", headers=login("city"), query_string={"period": "2026"})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "versions: a non-empty list is required" in response.get_json()["detail"]


def test_a_closure_counts_while_the_recurrence_watch_still_runs(svc, library, clock, client, login):
    """The case stays open through P5's revisit wait and 90-day watch; its outcome (closure_state,
    satisfaction) is the case's data — and counted — from the moment it is recorded."""
    cid = start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/")
    triage(svc, cid)
    mediate_in_village(svc, cid)
    for _ in range(50):
        tasks = ready(svc, cid)
        if tasks:
            task = tasks[0]
            fields = json.loads((FORMS / f"{task.form_key}.schema.json").read_text(encoding="utf-8"))["properties"]
            svc.cases.complete_task(task.id, {**example(task.form_key),
                                              **{k: v for k, v in SATISFIED.items() if k in fields}}, "tester")
            continue
        if case_of(svc, cid).data.get("satisfaction"):
            break
        clock.advance(min(timers(svc, cid).values()) - clock.now() + timedelta(seconds=1))
        svc.cases.fire_due_timers()
    case = case_of(svc, cid)
    assert case.status != "completed" and timers(svc, cid), "the recurrence watch should still be running"
    assert (case.data["closure_state"], case.data["satisfaction"]) == ("closed_resolved", "满意")
    totals = kpis(client, login("city"))["totals"]
    assert (totals["resolved"], totals["revisited"], totals["satisfied"]) == (1, 1, 1)


def test_an_older_spelling_counts_with_its_category_in_the_figure_and_its_cases(svc, library, client, login):
    """Cases stored under 土地山林 (before the catalogue) and 山林土地 are one group, in the catalogue's
    order, and that group's drill-down lists both: the figure and its cases cannot disagree."""
    for category in ("土地山林", "山林土地", "邻里", "外星纠纷"):
        triage(svc, start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/"), classify={"category": category})
    city = login("city")
    groups = [(g["key"], g["screened"]) for g in kpis(client, city, group_by="category")["groups"]]
    assert groups == [("邻里", 1), ("山林土地", 2), ("外星纠纷", 1)]
    response = client.get("/api/v1/stats/kpis/screened/cases", headers=city,
                          query_string={"group_by": "category", "key": "山林土地"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] == 2

"""The practice's KPIs beyond the case cohort (GET /api/v1/stats/practice): visit hours per grid
worker against 4 h a day, census round completion per grid (应排尽排), and whistle response and
scores per department."""
from __future__ import annotations

from datetime import datetime, timezone

from .process_support import do, example  # noqa: F401
from .test_census import CST, G1, G1_PATH, GOOD_ROWS, _visit, upload, xlsx_bytes
from .test_process_whistle import ACK, FEEDBACK, JOINT, REPORT, SFS, ZRZY, dispatch, start_whistle
from .test_process_mediation import library  # noqa: F401


def practice(client, headers, **query):
    response = client.get("/api/v1/stats/practice", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_visit_hours_and_round_completion(client, login, clock):
    town = login("town")
    assert upload(client, town, "人口.xlsx", xlsx_bytes(GOOD_ROWS)).status_code == 200   # 3 items to verify in g1
    grid = login("grid")
    rnd = client.post("/api/v1/census/rounds", headers=grid, json={"grid": G1, "week_start": "2026-03-02"}).get_json()
    people = {p["name"]: p["id"] for p in client.get(f"/api/v1/census/people?grid={G1}", headers=grid).get_json()}
    clock.set(datetime(2026, 3, 4, 4, 0, tzinfo=timezone.utc))
    grid = login("grid")
    for start, hours, verified in ((datetime(2026, 3, 2, 22, 0, tzinfo=CST), 4, ["张三"]),  # 2 h on the 3rd
                                   (datetime(2026, 3, 3, 9, 0, tzinfo=CST), 2.25, ["李四"]),
                                   (datetime(2026, 3, 4, 8, 0, tzinfo=CST), 1, [])):
        answer = _visit(client, grid, start, hours, round_id=rnd["id"],
                        verified=[{"target_type": "person", "target_id": people[n]} for n in verified])
        assert answer.status_code == 201, answer.get_json()
    body = practice(client, login("town"), **{"from": "2026-03-03", "to": "2026-03-04"})
    # The 3rd: 2 h (after midnight) + 2.25 h = 4.25 h, on target; the 4th: 1 h. The 2nd is outside.
    assert body["visit_hours"] == [{"worker": "grid", "hours": 5.25, "visits": 3, "days": 2, "days_on_target": 1,
                                    "hours_per_day": 2.62, "target_hours": 4.0, "on_target_rate": 0.5}]
    day = client.get("/api/v1/census/visit-hours?date=2026-03-03", headers=login("town")).get_json()
    assert day[0]["hours"] == 4.25                       # the census page's figure for the same day
    rounds = practice(client, login("town"), **{"from": "2026-03-01", "to": "2026-03-31"})["census_rounds"]
    assert rounds == [{"grid_path": G1_PATH, "grid": "杨家湾村第一网格", "rounds": 1, "items": 3, "verified": 2,
                       "verified_in_time": 2, "completion_rate": round(2 / 3, 4)}]
    assert practice(client, login("dept"))["census_rounds"] == []          # outside the department's area


def test_whistle_response_and_scores_per_department(svc, library, client, login, clock):  # noqa: F811
    cid = start_whistle(svc)
    dispatch(svc, cid, lead_dept=ZRZY, co_depts=[SFS])
    clock.advance(hours=1)
    do(svc, cid, "ack", ACK, unit=ZRZY)
    do(svc, cid, "report", REPORT, unit=ZRZY)
    clock.advance(hours=1, seconds=1)                                      # SFS misses its 2-hour window
    assert svc.cases.fire_due_timers() == 1
    do(svc, cid, "supervise_ack", example("whistle_supervise"))
    do(svc, cid, "ack", ACK, unit=SFS)
    do(svc, cid, "report", REPORT, unit=SFS)
    for element_id, data in (("joint", JOINT), ("feedback", FEEDBACK), ("review", {"review_result": "通过"})):
        do(svc, cid, element_id, data)
    do(svc, cid, "evaluate", {"quality_score": 80})
    rows = {d["dept"]: d for d in practice(client, login("city"))["departments"]}
    assert set(rows) == {ZRZY, SFS}
    assert {k: rows[ZRZY][k] for k in ("whistles", "acknowledged", "response_hours", "ack_late", "mean_score")} == {
        "whistles": 1, "acknowledged": 1, "response_hours": 1.0, "ack_late": 0, "mean_score": 92.0}
    assert {k: rows[SFS][k] for k in ("whistles", "acknowledged", "ack_late", "mean_score")} == {
        "whistles": 1, "acknowledged": 1, "ack_late": 1, "mean_score": round(80 * 0.6 + 80 * 0.4, 1)}
    assert rows[SFS]["response_hours"] == 2.0                             # 2 h 1 s
    for dept, row in rows.items():                                         # each row drills down to its cases
        body = client.get("/api/v1/stats/kpis/whistles/cases", headers=login("city"), query_string={"dept": dept}).get_json()
        assert (body["figure"], body["total"], [i["id"] for i in body["items"]]) == (row["whistles"], row["cases"], [cid])
    response = client.get("/api/v1/stats/kpis/whistles/cases", headers=login("city"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    mine = practice(client, login("dept"))["departments"]                 # 民政局: no whistle reached it
    assert mine == []

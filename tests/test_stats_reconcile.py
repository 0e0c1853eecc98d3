"""Statistics that reconcile (issue 14, items 4–5): a month of mixed cases — merged and
duplicate-suspected ones among them — is accounted for once in the reconciliation, and every KPI
figure has exactly its cases behind it in the drill-down (API, CLI and Excel)."""
from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sqlalchemy import select

from api.intake import service as intake
from api.intake.schemas import schema_of
from api.stats import drilldown
from cunliao.cli import main as cli
from engine.models import Case

from .test_process_mediation import do, example, library  # noqa: F401
from .test_stats import YANGJIAWAN, kpis, lead, mediate_in_village, seed, start, triage

pytestmark = pytest.mark.usefixtures("verify_all_cases")

ID_NO = "42118119800101123X"
GRID = YANGJIAWAN + "songbu-yangjiawan-g1/"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
PAGE = 4  # small pages, so that paging is part of the check
PARTIES = [{"role": "申请人", "name": "张某", "id_no": ID_NO}, {"role": "被申请人", "name": "李某"}]


def month(svc, clock, client) -> dict[str, int]:
    """test_stats' March (resolved, transferred, open, merged, cancelled, an emergency and a false
    alarm lead) plus: a lead converted into a case, a lead linked to an open case, a monitored lead,
    two cases of the same party (the second a suspected duplicate: a repeat within 90 days, still
    its own dispute) and a one-key call answered in time."""
    ids = seed(svc, clock)
    ids["L3"] = lead(svc, "police_110", "110-2", "converted")
    ids["L4"] = svc.cases.start("lead_clue", {"source": "hotline_12345", "source_ref": "12345-2",
                                              "lead_summary": "又来电", "hotline_type": "general"},
                                "city", YANGJIAWAN).case.id
    do(svc, ids["L4"], "screen", linked_case_no="MC-20260302-0001")
    do(svc, ids["L4"], "feedback")
    ids["F"] = start(svc, GRID, parties=PARTIES)
    triage(svc, ids["F"])
    mediate_in_village(svc, ids["F"])
    ids["R"] = start(svc, GRID, parties=PARTIES, title="张某再次反映排水沟")
    ids["K"] = one_key_call(svc, client)
    return ids


def one_key_call(svc, client) -> int:
    """A one-key call pushed by its channel and answered by the grid worker at once."""
    key = {"X-Api-Key": intake.new_key(svc.db, "one_key_call", "test", svc.clock.now())}
    payload = {**schema_of("one_key_call")["examples"][0], "source_ref": "OK-1"}
    created = client.post("/api/v1/intake/one_key_call", headers=key, json=payload).get_json()
    with svc.db.read() as session:
        cid = session.scalars(select(Case.id).where(Case.case_no == created["case_no"])).one()
    do(svc, cid, "register_onekey", channel="one_key_call")
    answer = client.get("/api/v1/intake/one_key_call/OK-1", headers=key).get_json()
    assert answer["response"]["within_window"] is True
    return cid


@pytest.fixture
def mixed(svc, library, clock, client):  # noqa: F811
    return month(svc, clock, client)


def reconciliation(client, headers, **query):
    response = client.get("/api/v1/stats/reconciliation", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def drill(client, headers, kpi, **query):
    """Every page of a KPI's drill-down: (figure, [(case id, weight)])."""
    items, page = [], 1
    while True:
        response = client.get(f"/api/v1/stats/kpis/{kpi}/cases", headers=headers,
                              query_string={**query, "page": page, "page_size": PAGE})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += [(item["id"], item["weight"]) for item in body["items"]]
        if page * PAGE >= body["total"]:
            return body["figure"], items
        page += 1


def test_the_parts_add_up_to_every_registered_dispute(client, login, mixed, db_url, monkeypatch):
    """By month and for the year, in the API, the CLI and the Excel export."""
    for period in ("2026-03", "2026-07", "2026"):
        check_parts(client, login, mixed, period)
    check_cli_and_excel(client, login, db_url, monkeypatch)


def check_parts(client, login, mixed, period):
    report = reconciliation(client, login("city"), period=period)
    parts = {p["key"]: p["count"] for p in report["parts"]}
    assert report["balanced"] and sum(parts.values()) == report["total"]
    counted = sum(p["count"] for p in report["parts"] if p["counted"])
    kpi_query = {"2026-03": MARCH, "2026-07": {"from": "2026-07-01", "to": "2026-07-31"}, "2026": {}}[period]
    assert counted == report["screened"] == kpis(client, login("city"), **kpi_query)["totals"]["screened"]
    if period == "2026":
        assert report["total"] == len(mixed) + 1          # + the case the converted lead started
        assert parts == {"resolved": 3, "transferred": 2, "unresolved": 0, "open": 5, "merged": 1, "converted": 1,
                         "linked": 1, "false_alarm": 1, "cancelled": 1}
        shown = {(d["part"], d["of"]) for d in report["duplicates"]}
        assert shown == {("merged", "MC-20260302-0001"), ("linked", "MC-20260302-0001")}


def test_every_kpi_lists_exactly_its_count(client, login, mixed):
    city = login("city")
    for query in ({}, MARCH, {"area": "songbu"}):
        totals = kpis(client, city, **query)["totals"]
        for kpi in drilldown.KPIS if not query else ("screened", "resolved", "overdue_tasks", "repeats", "on_time_rate"):
            figure, items = drill(client, city, kpi, **query)
            expected = totals[drilldown.counted_kpi(kpi)]
            assert figure == expected == sum(w for _, w in items), (kpi, query)
            if kpi != "overdue_tasks":
                assert len(items) == len(set(items)) == expected, (kpi, query)
    assert kpis(client, city)["totals"]["repeats"] == 1
    assert [i for i, _ in drill(client, city, "repeats")[1]] == [mixed["R"]]
    assert [i for i, _ in drill(client, city, "one_key_rate")[1]] == [mixed["K"]]
    check_groups(client, city)
    check_jurisdiction(client, login("town"), mixed)


def check_groups(client, city):
    for group_by in ("village", "category", "channel", "month"):
        for group in kpis(client, city, group_by=group_by)["groups"]:
            figure, items = drill(client, city, "resolved", group_by=group_by, key=group["key"] or "")
            assert figure == len(items) == group["resolved"], (group_by, group["key"])


def check_jurisdiction(client, town, mixed):                                   # 宋埠镇: not 龟峰村's case E
    figure, items = drill(client, town, "resolved")
    assert mixed["E"] not in {i for i, _ in items} and figure == len(items)
    response = client.get("/api/v1/stats/kpis/resolved/cases", headers=town, query_string={"area": "guishan"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.get("/api/v1/stats/kpis/happiness/cases", headers=town)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def check_cli_and_excel(client, login, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["stats", "reconcile", "--period", "2026"])
    assert result.exit_code == 0, result.output
    assert "平衡" in result.output and "MC-20260302-0001" in result.output
    assert CliRunner().invoke(cli, ["stats", "reconcile", "--period", "26"]).exit_code == 2
    response = client.get("/api/v1/stats/kpis.xlsx", headers=login("city"))
    sheet = load_workbook(io.BytesIO(response.data))["对账"]
    rows = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    report = reconciliation(client, login("city"))
    assert rows["登记总数（各部分合计）"] == report["total"] and rows["是否平衡"] == "是"
    assert all(rows[p["label"]] == p["count"] for p in report["parts"])

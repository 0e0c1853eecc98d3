"""The dashboard: number cards, the ECharts breakdowns, the safety ratings table and the Excel
export, on cases seeded in a town of their own (the server is shared with other UI tests).

The cases run through the real process library with the services on the UI server's database and a
fake clock that starts an hour *ahead* of the wall clock: their timers (the 7-day revisit wait, the
90-day watch) are then never due for the server's timer worker, and this test fires them itself,
case by case (``_fire_case_timers``: ``fire_due_timers`` would fire other tests' timers too). Only D
is registered in the past, so that its open step is overdue for the server; it has no timer.
"""
from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from api.core.config import Settings
from api.core.services import build_services
from engine.clock import CHINA, FakeClock
from engine.models import PendingTimer

from ..test_process_mediation import FORMS, case_of, do, example, ready, timers
from ..test_stats import SATISFIED, mediate_in_village, triage
from .conftest import api_token, sign_in


def _units(base: str, tag: str) -> dict[str, str]:
    """A town with three villages and a grid each, made by the admin through the API (丙村 records
    nothing: 应排尽排, it is not rated)."""
    admin = api_token(base, "admin")
    town = f"st{tag}"
    paths = {}
    for code, name, kind, parent in ((town, f"统计镇{tag}", "town", "macheng"),
                                     (f"{town}-a", "甲村", "village", town), (f"{town}-a-g1", "甲村第一网格", "grid", f"{town}-a"),
                                     (f"{town}-b", "乙村", "village", town), (f"{town}-b-g1", "乙村第一网格", "grid", f"{town}-b"),
                                     (f"{town}-c", "丙村", "village", town)):
        answer = requests.post(f"{base}/api/v1/admin/units", headers=admin, timeout=30,
                               json={"code": code, "name": name, "kind": kind, "parent_code": parent})
        assert answer.status_code == 201, answer.text
        paths[code] = answer.json()["path"]
    return {"town": paths[town], "a": paths[f"{town}-a"], "a_grid": paths[f"{town}-a-g1"],
            "b": paths[f"{town}-b"], "b_grid": paths[f"{town}-b-g1"]}


def _register(svc, grid: str, **register) -> int:
    cid = svc.cases.start("dispute_intake", {}, "grid", grid).case.id
    do(svc, cid, "register", **register)
    return cid


def _drive(svc, clock, answers: dict[int, dict]) -> None:
    """tests/test_stats.py `drive_together`, firing only these cases' timers."""
    for _ in range(300):
        live = [cid for cid in answers if case_of(svc, cid).status in ("active", "waiting")]
        if not live:
            return
        tasks = [t for cid in live for t in ready(svc, cid)]
        if tasks:
            task = tasks[0]
            fields = json.loads((FORMS / f"{task.form_key}.schema.json").read_text(encoding="utf-8"))["properties"]
            svc.cases.complete_task(task.id, {**example(task.form_key), **{
                k: v for k, v in answers[task.case_id].items() if k in fields}}, "tester")
            continue
        due = {cid: min(timers(svc, cid).values()) for cid in live}
        clock.advance(min(due.values()) - clock.now() + timedelta(seconds=1))
        for cid, at in due.items():
            if at < clock.now():
                svc.cases._fire_case_timers(cid, clock.now())
    raise AssertionError("the cases did not settle")


@pytest.fixture(scope="module")
def world(live_server, ui_database_url):
    """甲村: A resolved (满意, 邻里, 网格排查), B resolved but signed for late (基本满意, 婚姻家庭, 来访),
    L1 a 110 lead that was an emergency. 乙村: E resolved (满意, 邻里, 一键呼叫), D registered 20 days
    ago and left open (its step overdue, no category)."""
    tag = uuid.uuid4().hex[:6]
    units = _units(live_server, tag)
    wall = datetime.now(timezone.utc).replace(microsecond=0)
    clock = FakeClock(wall - timedelta(days=20))
    svc = build_services(Settings(database_url=ui_database_url), clock)
    try:
        ids = {"D": _register(svc, units["b_grid"])}
        with svc.db.read() as session:
            assert not session.scalars(select(PendingTimer).where(PendingTimer.case_id == ids["D"])).all()
        clock.set(wall + timedelta(hours=1))                          # A, B, E and L1: all registered now
        ids["B"] = _register(svc, units["a_grid"], channel="walk_in")
        ids["A"] = _register(svc, units["a_grid"], channel="grid_patrol")
        ids["E"] = _register(svc, units["b_grid"], channel="one_key_call")
        lead = svc.cases.start("lead_clue", {"source": "police_110", "source_ref": f"110-{tag}",
                                             "lead_summary": "两户争吵报警"}, "city", units["a"]).case.id
        do(svc, lead, "screen")   # the form offers only the demo villages as first handler: fine here
        do(svc, lead, "verify", lead_result="emergency")
        for element_id in ("emergency", "feedback"):
            if any(t.element_id == element_id for t in ready(svc, lead)):
                do(svc, lead, element_id)
        ids["L1"] = lead
        triage(svc, ids["B"], classify={"category": "婚姻家庭"})
        do(svc, ids["B"], "route_confirm")
        clock.advance(days=2)               # B's village signs a day late (A and E wait at a 3-working-day step)
        svc.cases._fire_case_timers(ids["B"], clock.now())           # the director is reminded
        do(svc, ids["B"], "supervise")
        mediate_in_village(svc, ids["B"], routed=True)
        for key in ("A", "E"):
            triage(svc, ids[key])
            mediate_in_village(svc, ids[key])
        _drive(svc, clock, {ids["A"]: SATISFIED, ids["B"]: {**SATISFIED, "satisfaction": "基本满意"},
                            ids["E"]: SATISFIED})
        months = {k: case_of(svc, v).created_at.astimezone(CHINA).strftime("%Y-%m") for k, v in ids.items()}
    finally:
        svc.db.dispose()
    day = lambda at: at.astimezone(CHINA).date().isoformat()  # noqa: E731
    return {"units": units, "tag": tag, "months": months, "ids": ids,
            "from": day(wall - timedelta(days=21)), "to": day(wall + timedelta(days=2))}


def card(ui, name):
    return ui.locator(f'.kpi[data-kpi="{name}"] .kpi-value')


def test_cards_charts_ratings_and_export(ui, world):
    units = world["units"]
    month = world["months"]["A"]
    path = (f"/dashboard?from={world['from']}&to={world['to']}&area={units['town']}"
            f"&level=village&period={month}")
    sign_in(ui, "city", next_path="/dashboard")
    ui.goto(ui.base + path)
    expect(ui.locator("#s-area")).to_have_value(units["town"])
    for name, text in (("screened", "5"), ("resolved", "3"), ("resolution_rate", "60.0%"), ("on_time_rate", "75.0%"),
                       ("satisfaction_rate", "100.0%"), ("overdue_cases", "1"), ("overdue_tasks", "1")):
        expect(card(ui, name)).to_have_text(text)
    expect(ui.locator("#kpi-screened-note")).to_have_text("案件 4 件，线索 1 条")
    expect(ui.locator("#kpi-on_time_rate-note")).to_have_text("办结 4 件，按期 3 件")

    def chart(group):
        return ui.evaluate("(group) => window.cunliaoDashboard.chartData(group)", group)

    village = chart("village")
    assert village["categories"] == ["甲村", "乙村"]
    assert village["series"]["screened"] == [3, 2] and village["series"]["resolved"] == [2, 1]
    assert village["series"]["overdue_cases"] == [0, 1]
    assert village["series"]["resolution_rate"] == [66.7, 50.0]
    assert chart("town")["categories"] == [f"统计镇{world['tag']}"] and chart("town")["series"]["screened"] == [5]
    channel = chart("channel")
    assert dict(zip(channel["categories"], channel["series"]["screened"])) == {
        "网格排查": 2, "来访": 1, "一键呼叫": 1, "110警情": 1}
    category = chart("category")
    assert dict(zip(category["categories"], category["series"]["screened"])) == {"邻里": 3, "婚姻家庭": 1, "未分类": 1}
    by_month = chart("month")
    expected_months = {}
    for key in ("A", "B", "E", "D", "L1"):
        expected_months[world["months"][key]] = expected_months.get(world["months"][key], 0) + 1
    assert dict(zip(by_month["categories"], by_month["series"]["screened"])) == expected_months

    # the numbers on hover: ECharts' tooltip for the first village (scrolled into view: the cards
    # above may push it below the fold, where the mouse cannot reach)
    ui.locator("#chart-village").scroll_into_view_if_needed()
    box = ui.locator("#chart-village").bounding_box()
    ui.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    expect(ui.locator("#chart-village")).to_contain_text("排查数")
    expect(ui.locator("#chart-village")).to_contain_text("甲村")

    rows = ui.locator("#rating-rows tr")
    expect(rows).to_have_count(3)
    bing = rows.filter(has_text="丙村")                       # no screening recorded: not rated, and why
    expect(bing.locator("td").nth(0)).to_contain_text("未排查，不评平安")
    expect(bing.locator("td").nth(0)).to_contain_text("无排查不评平安")
    jia = rows.filter(has_text="甲村")
    expect(jia.locator("td").nth(0)).to_have_text("一票否决")
    expect(jia).to_contain_text("无民转刑、极端事件")
    yi = rows.filter(has_text="乙村")
    d_in_month = world["months"]["D"] == month
    expect(yi.locator("td").nth(0)).to_have_text("未达标" if d_in_month else "平安村(社区)")
    expect(yi.locator("td").nth(1)).to_have_text("2" if d_in_month else "1")

    with ui.expect_download() as download:
        ui.get_by_role("link", name="导出 Excel").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    table = {row[0]: row[1:] for row in book["统计"].iter_rows(min_row=3, values_only=True)}
    assert table["甲村"][0] == 3 and table["乙村"][0] == 2
    assert table["合计"][0] == 5 and table["合计"][3] == 3


def test_a_figure_opens_exactly_the_cases_behind_it(ui, world):
    units = world["units"]
    sign_in(ui, "city", next_path="/dashboard")
    ui.goto(ui.base + f"/dashboard?from={world['from']}&to={world['to']}&area={units['town']}")
    expect(card(ui, "resolved")).to_have_text("3")
    card(ui, "resolved").click()
    ui.wait_for_url("**/cases?kpi=resolved*")
    expect(ui.locator("#case-count")).to_have_text("化解数：3，对应案件 3 件")
    expect(ui.locator("#case-rows tr")).to_have_count(3)
    expect(ui.locator("#case-filters")).to_be_hidden()
    expect(ui.locator("#drill-note")).to_contain_text("统计数字对应的案件")
    ui.go_back()
    expect(card(ui, "screened")).to_have_text("5")
    card(ui, "screened").click()
    ui.wait_for_url("**/cases?kpi=screened*")
    expect(ui.locator("#case-rows tr")).to_have_count(5)


def test_a_town_officer_sees_no_foreign_town_and_a_bad_period_is_shown(ui, world):
    sign_in(ui, "town", next_path="/dashboard")
    expect(ui.locator("#s-area option", has_text="杨家湾村")).to_have_count(1)
    expect(ui.locator("#s-area option", has_text="宋埠镇")).to_have_count(1)
    expect(ui.locator("#s-area option", has_text=world["tag"])).to_have_count(0)
    expect(ui.locator("#s-area option", has_text="龟山镇")).to_have_count(0)
    ui.locator("#s-from").fill("2026-12-31")
    ui.locator("#s-to").fill("2026-01-01")
    ui.get_by_role("button", name="查询").click()
    expect(ui.locator("#stats-error")).to_be_visible()
    expect(ui.locator("#stats-error")).to_contain_text("起始日期")

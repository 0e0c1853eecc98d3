"""The community work page (群防群治): a 五老和谐会 with a member (phone shown masked), a 警民恳谈会
whose raised issue becomes a case in the resident's grid, and the six campaigns' counts; the dashboard's 六大行动 figure."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import sign_in

VILLAGE = "songbu-yangjiawan"
G1 = "songbu-yangjiawan-g1"


def test_roster_member_and_a_meeting_issue_that_becomes_a_case(ui):
    sign_in(ui, "mediator", next_path="/community")
    ui.get_by_text("新建组织").click()
    ui.locator("#org-village").select_option(value=VILLAGE)
    ui.locator("#org-kind").select_option(value="wulao")
    ui.get_by_role("button", name="创建组织").click()
    expect(ui.locator("#org-detail-title")).to_contain_text("杨家湾村五老和谐会")

    ui.locator("#member-name").fill("陈老师")
    ui.locator("#member-phone").fill("13912345678")
    ui.get_by_role("button", name="添加成员").click()
    expect(ui.locator("#member-rows")).to_contain_text("139****5678")
    expect(ui.locator("#member-rows")).not_to_contain_text("13912345678")

    ui.get_by_text("登记活动").click()
    event = ui.locator("#event-form")
    event.get_by_label("村或乡镇").select_option(value=VILLAGE)
    ui.locator("#event-kind").select_option(value="police_meeting")
    ui.locator("#event-place").fill("杨家湾村委会")
    event.get_by_label("参加人数").fill("30")
    event.get_by_role("checkbox", name="社会治安防控行动").check()
    ui.get_by_role("button", name="保存活动").click()
    expect(ui.locator("#issue-title")).to_contain_text("警民恳谈会")

    issue = ui.locator("#issue-form")
    issue.get_by_label("群众反映的问题").fill("两户因宅基地边界多次争吵")
    issue.get_by_label("反映人").fill("张某")
    issue.get_by_label("住址所在网格").select_option(value=G1)
    issue.get_by_label("处理方式").select_option(value="case")
    ui.get_by_role("button", name="登记问题").click()
    expect(ui.locator("#issue-list")).to_contain_text("案件 MC-")
    expect(ui.locator("#campaign-rows tr")).to_have_count(6)


def test_the_dashboard_shows_the_six_campaigns(ui):
    sign_in(ui, "town", next_path="/dashboard")
    expect(ui.get_by_role("heading", name="六大行动")).to_be_visible()
    expect(ui.locator("#chart-campaigns")).to_have_attribute("data-total", re.compile(r"^\d+$"))
    rows = ui.evaluate("() => window.cunliaoCampaigns.rows.map((r) => r.campaign_name)")
    assert len(rows) == 6 and "平安村（社区）创建行动" in rows

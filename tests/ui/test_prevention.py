"""The prevention work page (防范工作): a screening list with an entry (a field error from the server
first), a risk change and an escalation to a case; a follow-up plan for a census person, listed then
closed; a patrol team, a patrol log and the month's hours; the page at phone width."""
from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta, timezone

import requests
from playwright.sync_api import expect

from ..test_census import id_no
from .conftest import ARTIFACTS, api_token, sign_in

VILLAGE = "songbu-yangjiawan"
G1 = "songbu-yangjiawan-g1"
BEIJING = timezone(timedelta(hours=8))


def _tag() -> str:
    return uuid.uuid4().hex[:6]


def _census_person(base: str, name: str) -> dict:
    """A census person of the first grid, seeded through the API (a fresh valid ID number each time)."""
    headers = api_token(base, "grid")
    for _ in range(20):
        birth = f"19{random.randint(50, 99)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
        answer = requests.post(f"{base}/api/v1/census/people", headers=headers, timeout=30, json={
            "grid": G1, "name": name, "id_no": id_no(random.randint(1, 999), birth), "phone": "13912345678",
            "address": "杨家湾村4组8号", "flags": ["重点人员"]})
        if answer.status_code == 201:
            return answer.json()
        assert answer.status_code in (409, 422), answer.text  # an ID number already taken: draw again
    raise AssertionError("could not seed a census person")


def test_screening_list_entry_field_error_and_escalation(ui):
    tag = _tag()
    sign_in(ui, "mediator", next_path="/prevention")
    expect(ui.get_by_role("tab", name="风险家庭排查")).to_have_attribute("aria-selected", "true")

    ui.get_by_text("新建排查清单").click()
    ui.locator("#sl-form").get_by_label("村（网格）").select_option(value=VILLAGE)
    ui.get_by_label("标题", exact=True).fill(f"婚姻家庭风险联合排查 {tag}")
    ui.get_by_label("期间").fill("2026-03")
    ui.get_by_label("联合排查单位").fill("妇联、派出所、村调委会")
    ui.get_by_role("button", name="创建清单").click()

    detail = ui.locator("#sl-detail")
    expect(detail.get_by_role("heading", name=f"婚姻家庭风险联合排查 {tag}")).to_be_visible()
    expect(ui.locator("#sl-rows")).to_contain_text(f"婚姻家庭风险联合排查 {tag}")
    expect(ui.locator("#sl-detail-meta")).to_contain_text("妇联、派出所、村调委会")

    form = ui.locator("#se-form")
    subject = f"陈某某户{tag}"
    form.get_by_label("家庭或人员").fill(subject)
    form.get_by_role("checkbox", name="家暴").check()
    form.get_by_label("其他指标").fill("分居")
    form.get_by_label("风险等级").select_option(value="orange")
    form.get_by_label("身份证号").fill("123")  # the server's check, shown on its field
    form.get_by_role("button", name="添加条目").click()
    error = form.locator('[data-error-for="id_no"]')
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(form.get_by_label("身份证号")).to_have_attribute("aria-invalid", "true")

    form.get_by_label("身份证号").fill("")
    form.get_by_role("button", name="添加条目").click()
    row = ui.locator("#se-rows tr", has_text=subject)
    expect(row).to_contain_text("橙色（高）")
    expect(row).to_contain_text("家暴")
    expect(row).to_contain_text("派出所")
    expect(error).to_be_hidden()

    row.get_by_label(f"修改 {subject} 的风险等级").select_option(value="red")
    expect(row).to_have_attribute("data-risk", "red")  # the row as the server answered
    expect(row.locator(".risk")).to_have_text("红色")
    row.get_by_label(f"修改 {subject} 的状态").select_option(value="watch")
    expect(row).to_have_attribute("data-status", "watch")

    row.get_by_role("button", name="转为案件").click()
    row.get_by_label("案情摘要（可选）").fill("夫妻矛盾激化，有家暴苗头")
    row.get_by_role("button", name="确认转为案件").click()
    link = row.get_by_role("link", name=re.compile(r"^MC-\d{8}-\d{4}$"))  # the case number people quote
    expect(link).to_be_visible()
    expect(row).to_contain_text("已转为案件")
    case_id = re.search(r"/cases/(\d+)$", link.get_attribute("href")).group(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui.screenshot(path=str(ARTIFACTS / "prevention_screening_desktop.png"), full_page=True)
    link.click()
    ui.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    expect(ui.locator("#main")).to_contain_text(f"风险家庭：{subject}")


def test_followup_plan_created_listed_and_closed(ui):
    name = f"刘跟进{_tag()}"
    person = _census_person(ui.base, name)
    sign_in(ui, "mediator", next_path="/prevention?tab=followup")
    expect(ui.get_by_role("tab", name="重点人员跟进")).to_have_attribute("aria-selected", "true")
    expect(ui.get_by_role("link", name="打开待办")).to_have_attribute("href", "/inbox")

    ui.get_by_text("新建跟进计划").click()
    form = ui.locator("#fp-form")
    form.get_by_label("在普查数据中查找").fill(name)
    form.get_by_role("button", name="查找").click()
    expect(form.get_by_label("人员", exact=True)).to_have_value(str(person["id"]))  # the only match is chosen
    form.get_by_label("联系间隔（天）").fill("7")
    form.get_by_label("责任单位").fill("杨家湾村调委会")
    form.get_by_label("跟进原因").fill("曾因土地纠纷多次越级上访")
    form.get_by_role("button", name="创建计划").click()

    row = ui.locator('#fp-rows tr[data-plan-id]', has_text=name)
    expect(row).to_contain_text("每 7 天")
    expect(row).to_contain_text("跟进中")
    expect(row.locator("td").nth(3)).to_contain_text(re.compile(r"\d{4}/\d{2}/\d{2}"))  # the next contact time

    row.get_by_role("button", name="结束跟进").click()
    detail = ui.locator("#fp-detail")
    expect(detail.get_by_role("heading", name=f"{name} 的跟进")).to_be_visible()
    expect(detail.locator("#fp-history")).to_contain_text("创建跟进计划")
    detail.get_by_label("结束原因").fill("已稳定，解除跟进")
    detail.get_by_role("button", name="结束跟进计划").click()
    expect(detail.locator("#fp-history")).to_contain_text("已稳定，解除跟进")
    expect(detail.locator("#fp-detail-summary")).to_contain_text("已结束")
    expect(ui.locator("#fp-rows")).not_to_contain_text(name)  # the list shows active plans
    ui.locator("#panel-followup").get_by_label("状态", exact=True).select_option(value="closed")
    expect(ui.locator("#fp-rows tr", has_text=name)).to_contain_text("已结束")


def test_patrol_team_log_and_month_hours(ui):
    tag = _tag()
    team = f"治安巡逻队{tag}"
    sign_in(ui, "mediator", next_path="/prevention?tab=patrol")
    ui.get_by_text("新建巡逻队").click()
    form = ui.locator("#pt-form")
    form.get_by_label("村（网格）").select_option(value=VILLAGE)
    form.get_by_label("队名").fill(team)
    form.get_by_label("队员").fill("王调解 mediator\n村民甲")
    form.get_by_role("button", name="创建巡逻队").click()
    team_row = ui.locator("#pt-rows tr", has_text=team)
    expect(team_row).to_contain_text("王调解（mediator）")
    expect(team_row).to_contain_text("村民甲")
    expect(ui.locator("#ph-rows tr", has_text=team)).to_contain_text("0")

    end = datetime.now(BEIJING).replace(second=0, microsecond=0) - timedelta(minutes=30)
    start = end - timedelta(hours=2, minutes=30)
    ui.get_by_text("登记巡逻").click()
    log = ui.locator("#pl-form")
    expect(log.get_by_label("巡逻队")).to_contain_text(team)
    log.get_by_label("巡逻队").select_option(label=f"{team}（杨家湾村）")
    log.get_by_label("开始时间（北京时间）").fill(start.strftime("%Y-%m-%dT%H:%M"))
    log.get_by_label("结束时间（北京时间）").fill(end.strftime("%Y-%m-%dT%H:%M"))
    log.get_by_label("巡逻路线").fill(f"村委会—3组—河堤 {tag}")
    log.get_by_label("巡逻发现").fill("河堤护栏松动")
    log.get_by_label("发现的问题").fill("护栏松动")
    log.get_by_role("button", name="保存巡逻日志").click()

    log_row = ui.locator("#pl-rows tr", has_text=f"村委会—3组—河堤 {tag}")
    expect(log_row).to_contain_text(team)
    expect(log_row).to_contain_text("2.5")
    expect(log_row).to_contain_text("护栏松动")
    hours = ui.locator("#ph-rows tr", has_text=team)
    expect(hours.locator("td").nth(2)).to_have_text("1")
    expect(hours.locator("td").nth(3)).to_have_text("2.5")
    expect(ui.get_by_label("统计月份")).to_have_value(start.strftime("%Y-%m"))

    # the logs filter: this team only
    ui.locator("#pl-filter").get_by_label("巡逻队").select_option(label=team)
    ui.locator("#pl-filter").get_by_role("button", name="查询").click()
    expect(ui.locator("#pl-rows tr")).to_have_count(1)


def test_the_page_fits_a_phone(ui):
    ui.set_viewport_size({"width": 390, "height": 844})
    sign_in(ui, "mediator", next_path="/prevention")
    headers = api_token(ui.base, "mediator")
    made = requests.post(f"{ui.base}/api/v1/prevention/screening-lists", headers=headers, timeout=30, json={
        "area": VILLAGE, "title": f"手机排查 {_tag()}", "screeners": ["妇联"]}).json()
    requests.post(f"{ui.base}/api/v1/prevention/screening-lists/{made['id']}/entries", headers=headers, timeout=30,
                  json={"subject": "手机某户", "indicators": ["分居"], "risk_level": "yellow"}).raise_for_status()
    ui.reload()
    ui.locator(f'#sl-rows tr[data-list-id="{made["id"]}"]').get_by_role("button", name="打开").click()
    expect(ui.locator("#se-rows")).to_contain_text("手机某户")
    expect(ui.locator("#se-rows")).to_contain_text("黄色（中）")
    width = ui.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"the page is {width}px wide on a 390px phone"

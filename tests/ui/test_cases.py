"""The case list (filters in the URL, paging, phone width) and the case page (summary, masked
parties and unmasking, timeline, comments, attachments, the diagram, supervisors' actions, scope)."""
from __future__ import annotations

import base64
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from .conftest import ARTIFACTS, api_token, sign_in

YANGJIAWAN_G1 = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
YANGJIAWAN = "/macheng/songbu/songbu-yangjiawan/"
XINDIAN = "/macheng/songbu/songbu-xindian/"
PHONE, ID_NO = "13812345678", "421181199001011234"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmM"
                       "IQAAAABJRU5ErkJggg==")  # 1×1 pixel


@pytest.fixture(scope="module")
def seeded(live_server):
    """Four cases with a tag of their own in the title (the server is shared with other tests):
    two 邻里 in 杨家湾村第一网格, one 婚姻家庭 and one 邻里 in 新店村."""
    tag = uuid.uuid4().hex[:6]
    town = api_token(live_server, "town")
    cases = {}
    for key, where, category, risk, channel in (
            ("a1", YANGJIAWAN_G1, "邻里", "yellow", "walk_in"), ("a2", YANGJIAWAN_G1, "邻里", "green", "grid_patrol"),
            ("b1", XINDIAN, "婚姻家庭", "red", "one_key_call"), ("b2", XINDIAN, "邻里", "orange", "walk_in")):
        answer = requests.post(f"{live_server}/api/v1/cases", headers=town, timeout=30, json={
            "process_key": "quick_mediation", "jurisdiction": where, "title": f"{tag} {category}纠纷 {key}",
            "data": {"category": category, "risk_level": risk, "channel": channel, "summary": "两户因排水沟堵塞争吵",
                     "parties": [{"role": "申请人", "name": "张三", "phone": PHONE, "id_no": ID_NO},
                                 {"role": "被申请人", "name": "李四"}]}})
        assert answer.status_code == 201, answer.text
        cases[key] = answer.json()
    return {"tag": tag, **cases}


def rows(ui):
    return ui.locator("#case-rows tr")


def test_list_filters_by_village_and_category_in_the_url(ui, seeded):
    tag = seeded["tag"]
    sign_in(ui, "town", next_path=f"/cases?q={tag}")
    expect(rows(ui)).to_have_count(4)
    expect(ui.locator("#case-count")).to_have_text("共 4 件")
    ui.locator("#f-village").select_option(label="杨家湾村")
    ui.locator("#f-category").select_option("邻里")
    ui.get_by_role("button", name="查询").click()
    expect(rows(ui)).to_have_count(2)
    expect(ui).to_have_url(re.compile(r"village=%2Fmacheng%2Fsongbu%2Fsongbu-yangjiawan%2F"))
    expect(ui).to_have_url(re.compile(r"category=%E9%82%BB%E9%87%8C"))
    numbers = sorted(rows(ui).locator(".case-no").all_inner_texts())
    assert numbers == sorted([seeded["a1"]["case_no"], seeded["a2"]["case_no"]])
    first = rows(ui).filter(has_text=seeded["a1"]["case_no"])
    expect(first).to_contain_text("宋埠镇 / 杨家湾村 / 杨家湾村第一网格")
    expect(first).to_contain_text("黄色")
    expect(first).to_contain_text("来访")
    expect(first).to_contain_text("登记纠纷")
    expect(first).to_contain_text("办理中")

    # the URL is the list: a bookmark opens the same filters
    ui.goto(f"{ui.base}/cases?q={tag}&village={XINDIAN}&category=婚姻家庭")
    expect(rows(ui)).to_have_count(1)
    expect(rows(ui).first).to_contain_text(seeded["b1"]["case_no"])
    expect(ui.locator("#f-village")).to_have_value(XINDIAN)
    expect(ui.locator("#f-category")).to_have_value("婚姻家庭")
    expect(rows(ui).first).to_contain_text("红色")

    ui.locator("#f-risk").select_option("green")
    ui.get_by_role("button", name="查询").click()
    expect(ui.locator("#case-empty")).to_be_visible()
    ui.get_by_role("button", name="清空条件").click()
    expect(ui).to_have_url(f"{ui.base}/cases")


def test_list_pages(ui, seeded):
    sign_in(ui, "town", next_path="/cases")
    ui.goto(f"{ui.base}/cases?q={seeded['tag']}&page_size=3")
    expect(rows(ui)).to_have_count(3)
    expect(ui.locator("#page-info")).to_have_text("第 1 / 2 页")
    first_page = set(rows(ui).locator(".case-no").all_inner_texts())
    ui.get_by_role("button", name="下一页").click()
    expect(rows(ui)).to_have_count(1)
    expect(ui).to_have_url(re.compile(r"page=2"))
    expect(ui.get_by_role("button", name="下一页")).to_be_disabled()
    last = rows(ui).locator(".case-no").inner_text()
    assert last not in first_page
    assert first_page | {last} == {seeded[k]["case_no"] for k in ("a1", "a2", "b1", "b2")}
    ui.go_back()
    expect(rows(ui)).to_have_count(3)


def test_case_page_summary_parties_timeline_comment_attachment_diagram(ui, seeded):
    case = seeded["a1"]
    sign_in(ui, "mediator", next_path=f"/cases/{case['id']}")
    summary = ui.locator("#case-summary")
    expect(ui.locator("#case-no")).to_have_text(case["case_no"])
    expect(summary).to_contain_text("邻里")
    expect(summary).to_contain_text("黄色")
    expect(summary).to_contain_text("宋埠镇 / 杨家湾村 / 杨家湾村第一网格")
    expect(summary).to_contain_text("来访")
    expect(summary).to_contain_text("登记纠纷")  # the open step's deadline
    parties = ui.locator("#case-parties")
    expect(parties).to_contain_text("138****5678")
    expect(parties).to_contain_text("4211**********1234")
    expect(parties).not_to_contain_text(PHONE)
    expect(ui.locator("#case-tasks a")).to_have_attribute("href", re.compile(r"^/tasks/"))
    expect(ui.locator("#case-timeline")).to_contain_text("登记了案件")

    # the diagram marks the open step
    active = ui.locator('#case-diagram .djs-element.is-active[data-element-id="register"]')
    expect(active).to_have_count(1)

    # a comment
    ui.locator("#comment-text").fill("已电话联系双方，约定周五到村委会调解。")
    ui.get_by_role("button", name="发表意见").click()
    expect(ui.locator("#case-comments")).to_contain_text("约定周五到村委会调解")
    expect(ui.locator("#case-timeline")).to_contain_text("发表了意见")

    # an attachment: the limits are explained, a small PNG goes up and is listed with a download link
    expect(ui.locator("#upload-hint")).to_contain_text("20 MB")
    ui.locator("#upload-file").set_input_files(files=[{"name": "现场照片.png", "mimeType": "image/png", "buffer": PNG}])
    ui.get_by_role("button", name="上传", exact=True).click()
    link = ui.locator("#case-attachments a", has_text="现场照片.png")
    expect(link).to_have_attribute("href", re.compile(r"^/api/v1/attachments/\d+$"))
    expect(ui.locator("#case-timeline")).to_contain_text("上传了附件 现场照片.png")
    with ui.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "现场照片.png"

    # a wrong file type is refused before it is sent
    ui.locator("#upload-file").set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"x"}])
    ui.get_by_role("button", name="上传", exact=True).click()
    expect(ui.locator("#upload-error")).to_contain_text("不支持该类型的文件")

    # the full details, with a reason that the case log keeps
    ui.get_by_role("button", name="查看完整信息").click()
    ui.locator("#reason-text").fill("电话联系当事人")
    ui.get_by_role("button", name="确定").click()
    expect(parties).to_contain_text(PHONE)
    expect(parties).to_contain_text(ID_NO)
    expect(ui.locator("#case-timeline")).to_contain_text("查看了当事人完整信息")
    expect(ui.locator("#case-timeline")).to_contain_text("理由：电话联系当事人")


def test_supervisor_suspends_and_resumes_with_a_reason(ui, seeded):
    case = seeded["b2"]
    sign_in(ui, "city", next_path=f"/cases/{case['id']}")
    expect(ui.locator("#case-no")).to_have_text(case["case_no"])
    ui.get_by_role("button", name="挂起").click()
    ui.get_by_role("button", name="确定").click()
    expect(ui.locator("#reason-error")).to_be_visible()  # a reason is required
    ui.locator("#reason-text").fill("当事人外出务工，暂缓调解")
    ui.get_by_role("button", name="确定").click()
    expect(ui.locator("#case-status")).to_have_text("已挂起")
    expect(ui.locator("#case-timeline")).to_contain_text("挂起了案件")
    ui.get_by_role("button", name="恢复办理").click()
    ui.locator("#reason-text").fill("当事人已返乡")
    ui.get_by_role("button", name="确定").click()
    expect(ui.locator("#case-status")).to_have_text("办理中")
    expect(ui.get_by_role("button", name="恢复办理")).to_be_hidden()


def test_mediator_has_no_supervisor_actions(ui, seeded):
    sign_in(ui, "mediator", next_path=f"/cases/{seeded['a2']['id']}")
    expect(ui.locator("#case-no")).to_have_text(seeded["a2"]["case_no"])
    expect(ui.locator("#case-actions")).to_be_hidden()


def test_another_towns_user_is_told_not_found(ui, seeded):
    username = f"gs{uuid.uuid4().hex[:6]}"
    made = requests.post(f"{ui.base}/api/v1/admin/users", headers=api_token(ui.base, "admin"), timeout=30, json={
        "username": username, "display_name": "龟山镇专员", "unit_code": "guishan", "roles": ["town_officer"],
        "password": "Guishan-2026x", "must_change_password": False})
    assert made.status_code == 201, made.text
    sign_in(ui, username, password="Guishan-2026x", next_path=f"/cases/{seeded['a1']['id']}")
    expect(ui.locator("#case-missing")).to_be_visible()
    expect(ui.locator("#case-missing-text")).to_have_text("案件不存在，或不在您的管辖范围内。")
    expect(ui.locator("#case-page")).to_be_hidden()
    ui.goto(f"{ui.base}/cases?q={seeded['tag']}")
    expect(ui.locator("#case-empty")).to_be_visible()
    expect(ui.locator("#f-village option")).to_have_text(["全部", "龟峰村", "石桥村"])


def test_phone_width(ui, seeded):
    ui.set_viewport_size({"width": 390, "height": 844})
    sign_in(ui, "mediator", next_path=f"/cases?q={seeded['tag']}")
    expect(rows(ui)).to_have_count(2)  # the mediator's village only
    expect(ui.locator("#case-table thead")).to_be_hidden()
    expect(ui.locator('[data-level="town"]')).to_be_hidden()  # above the mediator's own unit
    first = rows(ui).first.locator("td").first
    assert first.evaluate("td => getComputedStyle(td).display") == "block"
    assert ui.evaluate("document.documentElement.scrollWidth") <= 391
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui.screenshot(path=str(ARTIFACTS / "test_phone_width_list.png"), full_page=True)
    rows(ui).first.locator(".case-no").click()
    expect(ui.locator("#case-summary")).to_be_visible()
    expect(ui.locator("#case-diagram .djs-element.is-active")).not_to_have_count(0)
    assert ui.evaluate("document.documentElement.scrollWidth") <= 391

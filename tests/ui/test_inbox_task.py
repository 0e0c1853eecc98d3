"""The staff's inbox (待办), the task page and registering a dispute, in the browser (issue 6):
a grid worker registers a dispute; the village mediator finds the task in the inbox, completes it
after one server-side form error; the inbox at phone width; claim and unclaim; a 409 as a notice."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import requests
from playwright.sync_api import expect

from .conftest import ARTIFACTS, api_token, sign_in

FORMS = Path(__file__).resolve().parents[2] / "workflows" / "forms"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmM"
                       "IQAAAABJRU5ErkJggg==")  # 1×1 pixel


def example(form_key: str, **override) -> dict:
    schema = json.loads((FORMS / f"{form_key}.schema.json").read_text(encoding="utf-8"))
    return {**schema["examples"][0], **override}


def snap(ui, name: str) -> None:
    """A screenshot of a step worth looking at (the fixture keeps only the last screen)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui.screenshot(path=str(ARTIFACTS / f"inbox_task_{name}.png"), full_page=True)


def call(base, headers, method, path, **body):
    answer = requests.request(method, f"{base}/api/v1/{path}", headers=headers, json=body or None, timeout=60)
    assert answer.status_code < 300, (path, answer.status_code, answer.text)
    return answer.json() if answer.content else None


def ready_task(base, headers, case_id, element_id):
    case = call(base, headers, "GET", f"cases/{case_id}")
    [task] = [t for t in case["tasks"] if t["element_id"] == element_id]
    return task


def complete(base, headers, case_id, element_id, data):
    task = ready_task(base, headers, case_id, element_id)
    return call(base, headers, "POST", f"tasks/{task['id']}/complete", data=data)


def registered_case(base, title):
    """A dispute registered through the API by the grid worker: its next step is 权利告知 (grid)."""
    grid = api_token(base, "grid")
    data = example("intake_register", title=title)
    case = call(base, grid, "POST", "cases", process_key="dispute_intake", data=data, title=title)
    complete(base, grid, case["id"], "register", data)
    return case


def test_grid_registers_and_the_mediator_signs_for_it(ui):
    base = ui.base
    sign_in(ui, "grid", next_path="/cases/new")
    expect(ui.get_by_role("heading", name="登记纠纷", exact=True)).to_be_visible()
    ui.get_by_label("纠纷名称").fill("王某与赵某宅基地边界纠纷")
    ui.get_by_label("纠纷概要").fill("两户因宅基地边界砌墙发生争执，要求确认边界。")
    ui.get_by_label("发生日期").fill("2026-03-02")
    ui.get_by_label("发生地点").fill("杨家湾村5组")
    ui.get_by_label("来源渠道").select_option(label="网格排查")
    ui.get_by_role("group", name="受理方式").get_by_label("主动排查").check()
    first = ui.get_by_role("group", name="当事人 1")
    first.get_by_label("申请人", exact=True).check()
    first.get_by_label("姓名或名称").fill("王某")
    first.get_by_label("联系电话").fill("13900001111")
    expect(first.get_by_label("联系电话")).to_have_attribute("type", "tel")            # the phone's keypad
    # a photo, chosen before the case exists: uploaded to the case's attachments on 登记
    photos = ui.locator('[data-path="attachments"]')
    expect(photos.locator('input[capture]').first).to_have_attribute("accept", "image/*")   # the camera on phones
    photos.locator('input[id$="-files"]').set_input_files(
        files=[{"name": "现场.png", "mimeType": "image/png", "buffer": PNG}])
    expect(photos).to_contain_text("现场.png")
    expect(photos).to_contain_text("提交时上传")
    ui.get_by_role("button", name="添加当事人").click()
    second = ui.get_by_role("group", name="当事人 2")
    second.get_by_label("被申请人").check()
    second.get_by_label("姓名或名称").fill("赵某")
    snap(ui, "register_form")
    ui.get_by_role("button", name="登记", exact=True).click()

    # The next step (权利告知与身份核验) is the grid worker's own: the page goes straight to it, and
    # claims it for them (it shows under 我的).
    ui.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    expect(ui.get_by_role("heading", name="权利告知与身份核验", exact=True)).to_be_visible()
    expect(ui.locator("#task-head")).to_contain_text("认领人：网格员 李网格")
    grid = api_token(base, "grid")
    detail = call(base, grid, "GET", f"tasks/{ui.url.rsplit('/', 1)[1]}")
    case_id, case_no = detail["case"]["id"], detail["case_no"]
    assert detail["assignee"] == "grid"
    [photo] = call(base, grid, "GET", f"cases/{case_id}/attachments")
    assert photo["filename"] == "现场.png" and photo["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert call(base, grid, "GET", f"cases/{case_id}")["data"]["attachments"] == [
        {"id": photo["id"], "sha256": photo["sha256"], "filename": "现场.png"}]
    assert detail["case"]["parties"][0]["phone"] == "139****1111"            # stored sealed, shown masked
    expect(ui.locator("#case-summary")).to_contain_text(case_no)

    # The other triage steps, through the API (their own pages are the same task page).
    complete(base, grid, case_id, "notice", example("intake_notice"))
    # a green 五小 dispute: classified by the grid worker, it goes straight to the village (小事不出村)
    complete(base, grid, case_id, "classify", example("intake_classify"))

    ui.context.clear_cookies()
    sign_in(ui, "mediator")
    expect(ui.get_by_role("heading", name="待办", exact=True)).to_be_visible()
    ui.get_by_role("tab", name=re.compile("待认领")).click()
    row = ui.locator("tr", has_text=case_no)
    expect(row).to_contain_text("村调委会签收")
    expect(row).to_contain_text("王某与赵某宅基地边界纠纷")
    snap(ui, "inbox_desktop")
    row.get_by_role("link", name="村调委会签收").click()

    expect(ui.get_by_role("heading", name="村调委会签收", exact=True)).to_be_visible()
    expect(ui.locator("#task-diagram .djs-element.is-focus")).to_have_count(1)  # the current step, highlighted
    # One wrong field first: refusing without a reason — the form's if/then rule, which the browser
    # applies as the server does (the reason gets its star as soon as 否 is chosen)
    ui.get_by_role("group", name="签收").get_by_label("否").check()
    expect(ui.locator('[data-path="reject_reason"] .jf-required')).to_be_visible()
    ui.get_by_role("button", name="完成").click()
    reason = ui.get_by_label("拒收理由")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(ui.locator('[data-path="reject_reason"] .field-error')).to_have_text("此项必填。")
    expect(ui.locator("#task-notice")).to_contain_text("请按提示修改")
    snap(ui, "task_form_error")
    ui.get_by_role("group", name="签收").get_by_label("是").check()
    ui.get_by_label("签收意见").fill("已签收，安排调解。")
    ui.get_by_role("button", name="完成").click()

    # The next step (受理并选定调解员, village_mediation) is the mediator's too.
    expect(ui.get_by_role("heading", name="受理并选定调解员", exact=True)).to_be_visible()
    mediator = api_token(base, "mediator")
    case = call(base, mediator, "GET", f"cases/{case_id}")
    assert [t["element_id"] for t in case["tasks"]] == ["appoint"]
    # The case page (another helper's) shows the new step.
    ui.goto(f"{base}/cases/{case_id}")
    expect(ui.get_by_text("受理并选定调解员").first).to_be_visible()


def test_a_village_mediator_registers_a_walk_in_on_the_new_case_page(ui):
    """村调委会受理 (issue 13): the case starts in the mediator's village, so the village registers it
    (register_village, the same form) and the page goes on to the mediator's own 权利告知."""
    sign_in(ui, "mediator", next_path="/cases/new")
    expect(ui.get_by_role("heading", name="登记纠纷", exact=True)).to_be_visible()
    ui.get_by_label("纠纷名称").fill("杨某与胡某柴堆占道纠纷")
    ui.get_by_label("纠纷概要").fill("两户因柴堆占道争吵，来村调委会要求调解。")
    ui.get_by_label("发生地点").fill("杨家湾村2组")
    ui.get_by_label("来源渠道").select_option(label="来访")
    first = ui.get_by_role("group", name="当事人 1")
    first.get_by_label("申请人", exact=True).check()
    first.get_by_label("姓名或名称").fill("杨某")
    ui.get_by_role("button", name="登记", exact=True).click()
    ui.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    expect(ui.get_by_role("heading", name="权利告知与身份核验（村调委会）", exact=True)).to_be_visible()
    mediator = api_token(ui.base, "mediator")
    detail = call(ui.base, mediator, "GET", f"tasks/{ui.url.rsplit('/', 1)[1]}")
    assert (detail["element_id"], detail["assignee"]) == ("notice_village", "mediator")
    case = call(ui.base, mediator, "GET", f"cases/{detail['case']['id']}")
    assert case["jurisdiction"] == "/macheng/songbu/songbu-yangjiawan/"
    assert [t["element_id"] for t in case["tasks"]] == ["notice_village"]


def test_inbox_at_phone_width(ui):
    case = registered_case(ui.base, "手机宽度待办测试纠纷")
    ui.set_viewport_size({"width": 390, "height": 844})
    sign_in(ui, "grid")
    row = ui.locator("tr", has_text=case["case_no"])
    expect(row).to_contain_text("权利告知与身份核验")
    expect(row.locator("td.cell-due")).to_have_class(re.compile(r"due-(ok|soon|over)"))
    assert row.evaluate("r => getComputedStyle(r).display") == "block"          # rows stack on a phone
    assert ui.evaluate("document.documentElement.scrollWidth") <= 390            # nothing wider than the screen
    expect(ui.locator("#register-link")).to_have_text("登记纠纷")
    ui.get_by_role("tab", name=re.compile("已办")).click()
    expect(ui).to_have_url(re.compile(r"view=completed"))
    expect(ui.locator("tr", has_text=case["case_no"])).to_contain_text("登记纠纷")   # the register step, done


def test_claim_unclaim_and_a_conflict_shown_as_a_notice(ui):
    base = ui.base
    case = registered_case(base, "签收与冲突测试纠纷")
    grid = api_token(base, "grid")
    task = ready_task(base, grid, case["id"], "notice")
    sign_in(ui, "grid", next_path=f"/tasks/{task['id']}")
    expect(ui.get_by_role("heading", name="权利告知与身份核验", exact=True)).to_be_visible()
    # the claim is 认领 (签收 is the domain's word: a level accepting a case)
    ui.get_by_role("button", name="认领", exact=True).click()
    expect(ui.locator("#task-head")).to_contain_text("认领人：网格员 李网格")
    ui.get_by_role("button", name="取消认领").click()
    expect(ui.locator("#task-head")).to_contain_text("未认领")
    expect(ui.get_by_role("button", name="认领", exact=True)).to_be_visible()

    for label in ("已核验身份", "已告知人民调解性质、原则和权利义务", "已告知个人信息处理规则"):
        ui.get_by_role("group", name=label).get_by_label("是").check()
    ui.get_by_role("group", name="告知方式").get_by_label("当面告知").check()
    # Meanwhile the task is done from another device.
    call(base, grid, "POST", f"tasks/{task['id']}/complete", data=example("intake_notice"))
    ui.get_by_role("button", name="完成").click()
    expect(ui.locator("#task-notice")).to_contain_text("该任务刚被他人处理")
    expect(ui.locator("#task-head")).to_contain_text("已完成")
    expect(ui.get_by_role("button", name="完成")).to_have_count(0)


def test_a_supervisor_reassigns_to_a_person_picked_by_name(ui):
    case = registered_case(ui.base, "转办选人测试纠纷")
    task = ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "notice")
    sign_in(ui, "city", next_path=f"/tasks/{task['id']}")
    ui.get_by_role("button", name="转办").click()
    dialog = ui.locator("#action-dialog")
    dialog.get_by_role("radio", name="网格员 李网格（grid）").check()   # few people: radios, else a list
    dialog.get_by_label("理由").fill("原办理人请假，转回网格员")
    dialog.get_by_role("button", name="确定").click()
    expect(ui.locator("#task-notice")).to_contain_text("转办：已完成")
    assert ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "notice")["assignee"] == "grid"


def test_a_town_officer_assigns_by_name_and_the_first_handler_finds_the_case_under_my_cases(ui):
    case = registered_case(ui.base, "指派选人测试纠纷")      # the grid worker registered it: its 首办负责人
    task = ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "notice")
    sign_in(ui, "town", next_path=f"/tasks/{task['id']}")
    ui.get_by_role("button", name="指派").click()
    dialog = ui.locator("#action-dialog")
    dialog.get_by_label("指派给（用户名）").fill("mediator")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_contain_text("没有该任务需要的角色")
    dialog.get_by_label("指派给（用户名）").fill("grid2")
    dialog.get_by_label("理由").fill("包片网格员")
    dialog.get_by_role("button", name="确定").click()
    expect(ui.locator("#task-notice")).to_contain_text("指派：已完成")
    assert ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "notice")["assignee"] == "grid2"

    sign_in(ui, "grid")
    ui.get_by_role("tab", name=re.compile("我的案件")).click()
    row = ui.locator(f'tr[data-case-id="{case["id"]}"]')
    expect(row).to_contain_text("网格员 李网格")
    expect(row).to_contain_text("权利告知与身份核验")

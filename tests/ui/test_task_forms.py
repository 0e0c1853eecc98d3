"""Task pages that keep up (issue 17 item 3): the header follows every action, a step the user's own
action makes theirs is claimed (认领) for them and shows under 我的; a required multiple choice
(风险标签) is required in the browser and on the server; keyboards by field type."""
from __future__ import annotations


from playwright.sync_api import expect

from .conftest import api_token, sign_in
from .test_inbox_task import complete, example, ready_task, registered_case


def test_the_header_says_done_after_completing(ui):
    case = registered_case(ui.base, "完成后状态刷新测试纠纷")
    task = ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "notice")
    sign_in(ui, "grid", next_path=f"/tasks/{task['id']}")
    expect(ui.locator("#task-head")).to_contain_text("未认领")
    for label in ("已核验身份", "已告知人民调解性质、原则和权利义务", "已告知个人信息处理规则"):
        ui.get_by_role("group", name=label).get_by_label("是").check()
    ui.get_by_role("group", name="告知方式").get_by_label("当面告知").check()
    ui.get_by_role("button", name="完成").click()
    # the next step (分类登记) is the grid worker's own: the page goes on to it, claimed for them
    expect(ui.get_by_role("heading", name="分类登记", exact=True)).to_be_visible()
    expect(ui.locator("#task-head")).to_contain_text("认领人：网格员 李网格")
    expect(ui.locator("#task-head")).not_to_contain_text("未认领")


def test_risk_flags_are_required_in_the_browser_and_on_the_server(ui):
    case = registered_case(ui.base, "风险标签必填测试纠纷")
    complete(ui.base, api_token(ui.base, "grid"), case["id"], "notice", example("intake_notice"))
    task = ready_task(ui.base, api_token(ui.base, "grid"), case["id"], "classify")    # 分类登记: the grid worker's
    sign_in(ui, "grid", next_path=f"/tasks/{task['id']}")
    flags = ui.locator('[data-path="risk_flags"]')
    expect(flags.locator(".jf-required")).to_be_visible()
    ui.get_by_label("纠纷类型").select_option("邻里")
    ui.get_by_role("group", name="五小纠纷").get_by_label("是").check()
    count = ui.get_by_label("涉及人数")
    expect(count).to_have_attribute("inputmode", "numeric")
    count.fill("2")
    ui.get_by_label("涉及金额（元）").fill("5000")          # yellow: the town triages it (green goes to the village)
    ui.get_by_role("group", name="紧急情形").get_by_label("否").check()

    # nothing ticked: the browser says so, before asking the server
    ui.get_by_role("button", name="完成").click()
    expect(flags.locator(".field-error")).to_have_text("此项必填。")
    # "无" with a risk: only the server's rule knows; its answer lands on the field
    flags.get_by_label("无", exact=True).check()
    flags.get_by_label("家暴").check()
    ui.get_by_role("button", name="完成").click()
    expect(flags.locator(".field-error")).to_have_text("选了“无”就不要再选其他风险标签")
    flags.get_by_label("家暴").uncheck()
    ui.get_by_role("button", name="完成").click()

    # the next step (风险等级确认) is the town's: the grid worker's page says the step is done
    expect(ui.get_by_role("heading", name="任务已完成")).to_be_visible()

    # 风险等级确认 shows what the rules computed; the override's fields appear only when overriding
    ui.goto("about:blank")                      # leave the finished page before the town signs in
    ui.context.clear_cookies()
    risk = ready_task(ui.base, api_token(ui.base, "town"), case["id"], "risk_confirm")
    sign_in(ui, "town", next_path=f"/tasks/{risk['id']}")
    facts = ui.locator("#task-facts")
    expect(facts).to_contain_text("规则计算的风险等级")
    expect(facts).to_contain_text("判定依据")
    reason = ui.get_by_label("改判理由")
    expect(reason).to_be_hidden()
    ui.get_by_role("group", name="改判风险等级").get_by_label("是").check()
    expect(reason).to_be_visible()
    ui.get_by_role("group", name="改判风险等级").get_by_label("否").check()
    expect(reason).to_be_hidden()

"""The auditor's pages: find a case, verify the chains, replay a case step by step (diagram, data and
open tasks as of each step), download the audit bundle; other roles are kept out."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from .conftest import api_token, sign_in

FORMS = Path(__file__).resolve().parents[2] / "workflows" / "forms"


def example(form_key: str) -> dict:
    return json.loads((FORMS / f"{form_key}.schema.json").read_text(encoding="utf-8"))["examples"][0]


@pytest.fixture
def seeded(live_server):
    """A dispute_intake case started by the grid worker, who then registers it and gives the notice:
    three events (case_started, task_completed × 2); the case then waits for the grid worker's classification."""
    grid = api_token(live_server, "grid")
    answer = requests.post(f"{live_server}/api/v1/cases", json={"process_key": "dispute_intake", "data": {}},
                           headers=grid, timeout=60)
    assert answer.status_code == 201, answer.text
    case = answer.json()
    for element_id in ("register", "notice"):
        [task] = [t for t in case["tasks"] if t["element_id"] == element_id]
        answer = requests.post(f"{live_server}/api/v1/tasks/{task['id']}/complete",
                               json={"data": example(task["form_key"])}, headers=grid, timeout=60)
        assert answer.status_code == 200, answer.text
        case = answer.json()
    assert [t["element_id"] for t in case["tasks"]] == ["classify"]
    return case


def complete(base: str, case: dict, element_id: str, username: str, **data) -> dict:
    [task] = [t for t in case["tasks"] if t["element_id"] == element_id]
    answer = requests.post(f"{base}/api/v1/tasks/{task['id']}/complete",
                           json={"data": {**example(task["form_key"]), **data}},
                           headers=api_token(base, username), timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def diagram_element(ui, element_id: str):
    return ui.locator(f'#diagram g.djs-element[data-element-id="{element_id}"]')


def test_auditor_replays_a_case_to_the_first_step_and_back(ui, seeded):
    case_id, case_no = seeded["id"], seeded["case_no"]
    sign_in(ui, "auditor", next_path=f"/audit/cases/{case_id}")

    verdict = ui.locator("#verify-result")
    expect(verdict).to_contain_text("链校验通过：3 个事件，末哈希")
    expect(ui.locator("h1")).to_contain_text(case_no)
    main = ui.locator(".replay-main")
    expect(main).to_have_attribute("data-step", "3")  # opens at the last event
    head = ui.locator("#event-hash").inner_text()
    assert head[:10] in verdict.inner_text()

    # the first event: the case as it was started
    ui.get_by_role("button", name="首条").click()
    expect(main).to_have_attribute("data-step", "1")
    expect(ui).to_have_url(re.compile(r"\?at=1$"))
    expect(ui.locator("#step-label")).to_have_text("第 1 / 3 步")
    expect(ui.locator("#event-detail")).to_contain_text("立案")
    expect(ui.locator("#event-detail")).to_contain_text("网格员 李网格")
    expect(ui.locator("#event-prev-hash")).to_have_text("0" * 64)
    expect(ui.locator("#open-tasks")).to_contain_text("登记纠纷")
    expect(ui.locator("#open-tasks")).not_to_contain_text("分类登记")
    expect(diagram_element(ui, "register")).to_have_class(re.compile(r"\bis-active\b"))
    expect(diagram_element(ui, "start")).to_have_class(re.compile(r"\bis-done\b"))
    expect(diagram_element(ui, "notice")).not_to_have_class(re.compile(r"\bis-(active|done)\b"))
    # fields by their names, coded values by what they mean (a script set owner_level: named all the same)
    expect(ui.locator("#case-data")).to_contain_text("承办层级")
    expect(ui.locator("#case-data")).to_contain_text("村（社区）")
    expect(ui.locator("#case-data")).not_to_contain_text("owner_level")
    expect(ui.locator("#case-data")).not_to_contain_text("village")
    expect(ui.locator("#case-data")).not_to_contain_text("排水沟")
    expect(ui.get_by_role("button", name="上一条")).to_be_disabled()

    # forward: next, then the last
    ui.get_by_role("button", name="下一条").click()
    expect(main).to_have_attribute("data-step", "2")
    expect(ui.locator("#event-detail")).to_contain_text("完成任务")
    expect(ui.locator("#event-detail")).to_contain_text("登记纠纷")
    expect(diagram_element(ui, "register")).to_have_class(re.compile(r"\bis-focus\b"))
    expect(ui.locator("#case-data")).to_contain_text("排水沟")
    expect(ui.locator("#case-data")).to_contain_text("网格排查")          # channel grid_patrol, as the form offers it
    expect(ui.locator("#case-data")).not_to_contain_text("grid_patrol")
    ui.get_by_role("button", name="末条").click()
    expect(main).to_have_attribute("data-step", "3")
    expect(ui).to_have_url(re.compile(r"\?at=3$"))
    expect(ui.locator("#open-tasks")).to_contain_text("分类登记")
    expect(diagram_element(ui, "classify")).to_have_class(re.compile(r"\bis-active\b"))
    expect(diagram_element(ui, "register")).to_have_class(re.compile(r"\bis-done\b"))
    expect(ui.get_by_role("button", name="下一条")).to_be_disabled()

    # back with the keyboard and the step list
    ui.locator("#event-title").click()
    ui.keyboard.press("ArrowLeft")
    expect(main).to_have_attribute("data-step", "2")
    expect(ui).to_have_url(re.compile(r"\?at=2$"))
    ui.locator('#step-list button[data-seq="1"]').click()
    expect(main).to_have_attribute("data-step", "1")
    expect(ui.locator("#open-tasks")).to_contain_text("登记纠纷")

    # a link to a step opens that step
    ui.goto(f"{ui.base}/audit/cases/{case_id}?at=2")
    expect(main).to_have_attribute("data-step", "2")
    expect(ui.locator("#step-list button[aria-current='step']")).to_contain_text("完成任务：登记纠纷")   # the task by name

    # the bundle: a JSON file with the case's events
    with ui.expect_download() as download:
        ui.get_by_role("link", name="下载审计包").click()
    assert download.value.suggested_filename == f"{case_no}-audit.json"
    bundle = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert bundle["case"]["case_no"] == case_no
    # the download is itself recorded first, so the bundle ends with the record of its own download
    assert [e["type"] for e in bundle["events"]] == ["case_started", "task_completed", "task_completed",
                                                    "audit_bundle_downloaded"]
    assert bundle["events"][-2]["hash"] == head


def test_auditor_finds_a_case_verifies_the_list_and_opens_the_replay(ui, seeded):
    sign_in(ui, "auditor", next_path="/audit")
    ui.get_by_label("案件编号").fill(seeded["case_no"])
    ui.get_by_role("button", name="查找").click()
    row = ui.locator(f'#case-rows tr[data-case-no="{seeded["case_no"]}"]')
    expect(row).to_be_visible()
    expect(ui.locator("#case-rows tr")).to_have_count(1)
    ui.get_by_role("button", name="校验列表中全部案件").click()
    expect(row.locator("td.chain")).to_have_text("通过（3 个事件）")
    expect(ui.locator("#verify-summary")).to_have_text("列表中 1 个案件全部校验通过")
    row.get_by_role("link", name=f"回放 {seeded['case_no']}").click()
    expect(ui).to_have_url(re.compile(rf"/audit/cases/{seeded['id']}"))
    expect(ui.locator("#verify-result")).to_contain_text("链校验通过")

    ui.go_back()
    ui.get_by_role("button", name="最近案件").click()
    expect(ui.locator("#list-title")).to_have_text("最近案件")
    expect(ui.locator("#case-rows tr").first).to_be_visible()


def test_other_roles_may_not_open_the_audit_pages(ui, seeded):
    sign_in(ui, "grid")
    ui.goto(f"{ui.base}/audit/cases/{seeded['id']}")
    expect(ui.locator("h1")).to_have_text("无权访问")
    ui.goto(f"{ui.base}/audit")
    expect(ui.locator("h1")).to_have_text("无权访问")
    expect(ui.locator(".mainnav")).not_to_contain_text("审计")


def test_a_step_into_a_called_process_shows_that_process(ui, seeded, live_server):
    """Triaged at the town and accepted by the village mediator, the case enters village_mediation:
    that step shows the called process's diagram; the top process is a tab away."""
    case = seeded
    case = complete(live_server, case, "classify", "grid", amount=5000)   # yellow: the town triages it
    for element_id in ("risk_confirm", "scope_check", "route_confirm"):
        case = complete(live_server, case, element_id, "town")
    case = complete(live_server, case, "accept_village", "mediator")
    sign_in(ui, "auditor", next_path=f"/audit/cases/{case['id']}?at=8")
    main = ui.locator(".replay-main")
    expect(main).to_have_attribute("data-step", "8")
    expect(ui.locator("#verify-result")).to_contain_text("链校验通过：8 个事件")
    expect(ui.locator("#event-task")).to_contain_text("村调委会签收")
    expect(ui.locator("#diagram")).to_have_attribute("data-process", "village_mediation")
    expect(ui.get_by_role("tab", name="村级人民调解")).to_have_attribute("aria-selected", "true")
    open_task = case["tasks"][0]["element_id"]
    expect(diagram_element(ui, open_task)).to_have_class(re.compile(r"\bis-active\b"))
    ui.get_by_role("tab", name="矛盾纠纷受理研判分流").click()
    expect(ui.locator("#diagram")).to_have_attribute("data-process", "dispute_intake")
    expect(diagram_element(ui, "accept_village")).to_have_class(re.compile(r"\bis-focus\b"))
    ui.get_by_role("button", name="上一条").click()
    expect(main).to_have_attribute("data-step", "7")
    expect(ui.locator("#diagram")).to_have_attribute("data-process", "dispute_intake")
    expect(ui.get_by_role("tab", name="村级人民调解")).to_have_count(0)
    expect(ui.locator("#open-tasks")).to_contain_text("村调委会签收")

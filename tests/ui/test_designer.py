"""The process designer in the browser: open a deployed process in the modeler, edit it in the
properties panel, see the server's validation errors on their elements, deploy a new version and
compare it with the previous one; our extension properties survive saveXML."""
from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import expect

from .conftest import api_token, sign_in

KEY = "village_mediation"


def latest_version(base: str, key: str) -> int:
    answer = requests.get(f"{base}/api/v1/definitions/{key}/versions", headers=api_token(base, "designer"), timeout=30)
    answer.raise_for_status()
    return answer.json()[-1]["version"]


def shape(ui, element_id: str):
    return ui.locator(f'#canvas .djs-element[data-element-id="{element_id}"]')


def open_group(ui, group: str) -> None:
    """Properties-panel groups start collapsed."""
    header = ui.locator(f'#properties [data-group-id="group-{group}"] .bio-properties-panel-group-header')
    header.click()
    expect(ui.locator(f'#properties [data-group-id="group-{group}"] .bio-properties-panel-group-entries.open')).to_be_visible()


def open_modeler_from_list(ui) -> None:
    sign_in(ui, "designer", next_path="/designer")
    row = ui.locator(f'#definitions tr[data-key="{KEY}"]')
    expect(row).to_contain_text("村级人民调解")
    row.get_by_role("link", name="在建模器中打开").click()
    expect(ui.locator("body")).to_have_attribute("data-ready", "true")
    expect(ui.get_by_role("button", name="校验")).to_be_enabled()


def test_designer_edits_validates_deploys_and_compares(ui):
    before = latest_version(ui.base, KEY)
    open_modeler_from_list(ui)
    expect(ui.locator("#designer-meta")).to_contain_text(f"第 {before} 版")

    # rename a user task in the properties panel: the diagram follows
    shape(ui, "investigate").click()
    expect(ui.locator(".bio-properties-panel-header-label")).to_have_text("调查核实")
    open_group(ui, "general")
    ui.locator("#bio-properties-panel-name").fill("调查核实（现场）")
    expect(shape(ui, "investigate").locator("text")).to_contain_text("调查核实（现场）")

    # break the script of a script task, in the panel
    shape(ui, "init").click()
    open_group(ui, "cunliao-script")
    script = ui.locator("#bio-properties-panel-cunliao-script-body")
    good_script = script.input_value()
    assert "extension_count = 0" in good_script
    script.fill(good_script.replace("extension_count = 0", "extension_count = = 0"))
    ui.wait_for_function("() => window.modeler.get('elementRegistry').get('init').businessObject.script.includes('= = 0')")

    # 校验: the server's error is marked on the element and listed; the entry selects it
    ui.get_by_role("button", name="校验").click()
    issue = ui.locator('#issue-list li[data-element-id="init"]')
    expect(issue).to_contain_text("初始化调解变量")
    expect(issue).to_contain_text("脚本：第 5 行语法错误")   # the server's check, in Chinese
    expect(shape(ui, "init")).to_have_class(re.compile(r"\bhas-issue\b"))
    expect(ui.locator('.issue-badge[data-element-id="init"]')).to_be_visible()
    expect(ui.locator("#status")).to_contain_text("问题")
    shape(ui, "appoint").click()  # select something else, then let the list select it again
    issue.get_by_role("button").click()
    expect(shape(ui, "init")).to_have_class(re.compile(r"\bselected\b"))
    expect(ui.locator(".bio-properties-panel-header-label")).to_have_text("初始化调解变量")

    # fix it: validation passes and the marks go
    script = ui.locator("#bio-properties-panel-cunliao-script-body")
    script.fill(good_script)
    ui.wait_for_function("() => !window.modeler.get('elementRegistry').get('init').businessObject.script.includes('= = 0')")
    ui.get_by_role("button", name="校验").click()
    expect(ui.locator("#status")).to_have_text("校验通过，可以部署")
    expect(ui.locator("#issues")).to_be_hidden()
    expect(shape(ui, "init")).not_to_have_class(re.compile(r"\bhas-issue\b"))

    # and two of its properties: its time limit, and it may no longer be returned to
    shape(ui, "investigate").click()
    open_group(ui, "cunliao-task")
    ui.locator("#bio-properties-panel-cunliao-sla").select_option("mediation_limit")
    ui.locator("#bio-properties-panel-cunliao-returnable").uncheck()

    # 部署: a new version
    ui.get_by_role("button", name="部署").click()
    expect(ui.locator("#status")).to_have_text(f"已部署为第 {before + 1} 版")
    expect(ui.locator("#designer-meta")).to_contain_text(f"第 {before + 1} 版")
    assert latest_version(ui.base, KEY) == before + 1

    # compare the two versions: the renamed task is a rename, the properties are named in Chinese
    ui.locator("#compare-link").click()
    expect(ui).to_have_url(re.compile(rf"/designer/{KEY}/compare\?left={before}&right={before + 1}"))
    expect(ui.locator("body")).to_have_attribute("data-ready", "true")
    row = ui.locator('#diff-list tr[data-element-id="investigate"][data-kind="renamed"]')
    expect(row).to_contain_text("重命名")
    expect(row).to_contain_text("名称：调查核实 → 调查核实（现场）")
    expect(row).to_contain_text("办理时限：")
    expect(row).to_contain_text("（mediation_limit）")
    expect(row).to_contain_text("可退回：是 → 否")
    expect(row).to_contain_text("用户任务")
    # nothing else changed, and nothing "moved" (a longer name pushes only its label about)
    expect(ui.locator('#diff-list tbody tr')).to_have_count(1)
    for pane in ("#left-diagram", "#right-diagram"):
        expect(ui.locator(f'{pane} [data-element-id="investigate"]')).to_have_class(re.compile(r"\bdiff-changed\b"))
    row.click()
    for pane in ("#left-diagram", "#right-diagram"):
        expect(ui.locator(f'{pane} [data-element-id="investigate"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(row).to_have_attribute("aria-selected", "true")


def test_custom_properties_edit_and_survive_save(ui):
    open_modeler_from_list(ui)
    shape(ui, "appoint").click()
    # the panel in Chinese: the element's type, its groups, its own validation
    expect(ui.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    general = ui.locator('#properties [data-group-id="group-general"] .bio-properties-panel-group-header')
    expect(general).to_contain_text("常规")
    open_group(ui, "general")
    ui.locator("#bio-properties-panel-id").fill("appoint again")
    expect(ui.locator('#properties [data-entry-id="id"] .bio-properties-panel-error')).to_have_text("编号不能包含空格。")
    ui.locator("#bio-properties-panel-id").fill("appoint")
    open_group(ui, "cunliao-task")
    form = ui.locator("#bio-properties-panel-cunliao-form")
    sla = ui.locator("#bio-properties-panel-cunliao-sla")
    returnable = ui.locator("#bio-properties-panel-cunliao-returnable")
    expect(form).to_have_value("mediation_appoint")
    expect(sla).to_have_value("village_accept")
    expect(returnable).to_be_checked()
    expect(form.locator("option", has_text="mediation_session")).to_have_count(1)
    expect(sla.locator("option", has_text="mediation_limit")).to_have_count(1)

    form.select_option("mediation_session")
    sla.select_option("mediation_limit")
    returnable.uncheck()
    expect(ui.locator("#bio-properties-panel-cunliao-form-key")).to_have_value("mediation_session")
    xml = ui.evaluate("async () => (await window.modeler.saveXML({format: true})).xml")
    appoint = re.search(r'<bpmn:userTask id="appoint".*?</bpmn:userTask>', xml, re.S).group(0)
    assert '<spiffworkflow:property name="formKey" value="mediation_session" />' in appoint
    assert '<spiffworkflow:property name="slaKey" value="mediation_limit" />' in appoint
    assert 'name="returnable"' not in appoint

    # free text: a form key nobody deployed is offered as typed, and the server says so on 校验
    key_field = ui.locator("#bio-properties-panel-cunliao-form-key")
    key_field.fill("no_such_form")
    expect(form).to_have_value("no_such_form")
    returnable.check()
    ui.wait_for_function("""() => window.modeler.get('elementRegistry').get('appoint').businessObject
        .extensionElements.values[0].properties.some((p) => p.value === 'no_such_form')""")
    xml = ui.evaluate("async () => (await window.modeler.saveXML({format: true})).xml")
    appoint = re.search(r'<bpmn:userTask id="appoint".*?</bpmn:userTask>', xml, re.S).group(0)
    assert '<spiffworkflow:property name="formKey" value="no_such_form" />' in appoint
    assert '<spiffworkflow:property name="returnable" value="true" />' in appoint
    ui.get_by_role("button", name="校验").click()
    expect(ui.locator('#issue-list li[data-element-id="appoint"]')).to_contain_text("no_such_form")

    # a lane's role: offered from the role catalogue, and the lane's name follows
    lane = shape(ui, "lane_justice")
    lane.click(position={"x": 4, "y": 60})
    expect(ui.locator(".bio-properties-panel-header-label")).to_have_text("司法所专员")
    expect(ui.locator(".bio-properties-panel-header-type")).to_have_text("泳道")
    open_group(ui, "cunliao-lane")
    role = ui.locator("#bio-properties-panel-cunliao-role")
    expect(role).to_have_value("司法所专员")
    role.select_option("乡镇综治中心专员")
    expect(lane.locator("text").first).to_contain_text("乡镇综治中心专员")
    xml = ui.evaluate("async () => (await window.modeler.saveXML({format: true})).xml")
    assert '<bpmn:lane id="lane_justice" name="乡镇综治中心专员">' in xml

    # download the XML
    with ui.expect_download() as download:
        ui.get_by_role("button", name="下载 XML").click()
    assert download.value.suggested_filename == f"{KEY}.bpmn"


def test_form_editor_previews_validates_and_deploys(ui):
    sign_in(ui, "designer", next_path="/designer")
    row = ui.locator('#forms tr[data-form="quick_revisit"]')
    row.get_by_role("link", name="编辑表单").click()
    expect(ui.locator("body")).to_have_attribute("data-ready", "true")
    ui.get_by_role("tab", name="高级：JSON").click()
    text = ui.locator("#schema-text")
    preview = ui.locator("#preview")
    expect(preview.locator("input, select, textarea").first).to_be_attached()

    # bad JSON: the error is on the text box
    original = text.input_value()
    text.fill(original.rstrip().rstrip("}"))
    expect(ui.locator("#schema-error")).to_contain_text("不是合法的 JSON")
    ui.get_by_role("button", name="校验").click()
    expect(ui.locator("#status")).to_have_text("请先修正 JSON")

    # a new field shows in the preview at once, validates and deploys
    schema = json.loads(original)
    schema["properties"]["designer_note"] = {"type": "string", "title": "设计备注字段"}
    text.fill(json.dumps(schema, ensure_ascii=False, indent=2))
    expect(preview).to_contain_text("设计备注字段")
    expect(ui.locator("#schema-error")).to_be_hidden()
    ui.get_by_role("button", name="校验").click()
    expect(ui.locator("#status")).to_contain_text("quick_mediation")
    ui.get_by_role("button", name="部署").click()
    expect(ui.locator("#status")).to_contain_text("已部署")
    expect(ui.locator("#status")).to_contain_text("quick_mediation")
    answer = requests.get(f"{ui.base}/api/v1/definitions/forms/quick_revisit", headers=api_token(ui.base, "designer"),
                          timeout=30)
    assert "designer_note" in answer.json()["schema"]["properties"]

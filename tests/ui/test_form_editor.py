"""The visual form editor (issue 17 item 4): fields added, labelled, given options, made required,
reordered by dragging, a condition set; the preview is the task page's renderer and follows every
edit (the condition too); the JSON tab shows the same schema; deploying stores it in that order."""
from __future__ import annotations

import json

import requests
from playwright.sync_api import expect

from .conftest import api_token, sign_in

FORM = "lead_joint_fulian"  # used by no other browser test


def field_row(ui, key):
    return ui.locator(f'#fields .fe-row[data-key="{key}"]')


def add_field(ui, kind: str, title: str, key: str):
    ui.locator("#fields .fe-add select").last.select_option(label=kind)
    ui.locator("#fields .fe-add").last.get_by_role("button", name="添加字段").click()
    inspector = ui.locator("#fields .fe-row.open .fe-inspector")
    inspector.get_by_label("标题").fill(title)
    code = inspector.get_by_label("字段编码")
    code.fill(key)
    code.press("Enter")
    expect(field_row(ui, key)).to_be_visible()
    return field_row(ui, key).locator(".fe-inspector")


def test_a_designer_builds_a_form_field_by_field(ui):
    sign_in(ui, "designer", next_path=f"/designer/forms/{FORM}")
    expect(ui.locator("body")).to_have_attribute("data-ready", "true")
    preview = ui.locator("#preview")
    expect(field_row(ui, "fulian_opinion")).to_be_visible()

    # a single choice with its own options, required
    way = add_field(ui, "单选", "回访方式", "visit_way")
    way.get_by_label("选项 1 的显示文字").fill("上门走访")
    way.get_by_label("选项 1 的值").fill("visit")
    way.get_by_label("选项 2 的显示文字").fill("电话回访")
    way.get_by_label("选项 2 的值").fill("phone")
    way.get_by_label("选项 2 的值").press("Tab")
    way.get_by_label("必填").check()
    expect(preview.locator('[data-path="visit_way"]')).to_contain_text("上门走访")
    expect(preview.locator('[data-path="visit_way"] .jf-required')).to_be_visible()

    # a choice of village: named from the organisation, never copied into the form
    place = add_field(ui, "单选", "事发村", "event_village")
    place.get_by_label("选项来源").select_option(label="村（社区）")
    expect(field_row(ui, "event_village").locator(".fe-options")).to_have_count(0)

    # a yes/no question and the reason it requires when answered 是
    add_field(ui, "是/否", "需要再次走访", "again")
    add_field(ui, "多行文本", "再次走访原因", "again_reason")
    ui.locator("#rules").get_by_role("button", name="添加规则").click()
    rule = ui.locator("#rules .fe-rule").last
    rule.get_by_label("规则 1：当字段").select_option(label="需要再次走访")
    rule = ui.locator("#rules .fe-rule").last
    rule.get_by_label("规则 1：取值为").select_option(label="是")
    rule.get_by_role("group", name="规则 1：必填字段").get_by_label("再次走访原因").check()
    reason_star = preview.locator('[data-path="again_reason"] .jf-required')
    expect(reason_star).to_be_hidden()
    preview.get_by_label("需要再次走访").check()   # the browser applies the rule
    expect(reason_star).to_be_visible()

    # drag 回访方式 to the top
    field_row(ui, "visit_way").locator(".fe-grip").drag_to(field_row(ui, "fulian_opinion"))
    expect(ui.locator("#fields .fe-rows > .fe-row").first).to_have_attribute("data-key", "visit_way")
    expect(preview.locator(".jf-field").first).to_contain_text("回访方式")

    # the same schema as JSON
    ui.get_by_role("tab", name="高级：JSON").click()
    schema = json.loads(ui.locator("#schema-text").input_value())
    assert list(schema["properties"])[0] == "visit_way"
    assert schema["properties"]["visit_way"]["oneOf"] == [{"const": "visit", "title": "上门走访"},
                                                          {"const": "phone", "title": "电话回访"}]
    assert "visit_way" in schema["required"]
    assert schema["properties"]["event_village"]["x-options"] == {"source": "units", "kind": "village", "within": "case"}
    assert "oneOf" not in schema["properties"]["event_village"]
    rules = [part for part in [schema, *schema.get("allOf", [])] if "if" in part]
    assert {"if": {"properties": {"again": {"const": True}}, "required": ["again"]},
            "then": {"required": ["again_reason"]}} in [{"if": r["if"], "then": r["then"]} for r in rules]

    ui.get_by_role("button", name="部署").click()
    expect(ui.locator("#status")).to_contain_text("已部署")
    deployed = requests.get(f"{ui.base}/api/v1/definitions/forms/{FORM}", headers=api_token(ui.base, "designer"),
                            timeout=30).json()
    assert list(json.loads(deployed["source"])["properties"])[:1] == ["visit_way"]

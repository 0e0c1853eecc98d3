"""Case diagrams (issue 17 item 1): every process of a case draws, embedded sub-processes inside their
process and called processes on tabs named as the processes are; a diagram opens on its current step
at a readable size with the path taken marked, and shows the whole process on demand; a department
liaison sees the diagram of the case whistled to it; at laptop and phone widths.

The cases are driven with the services on the UI server's database (the whistle needs a town
director, whom the demo does not have yet)."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from api.core.config import Settings
from api.core.services import build_services
from engine.clock import SystemClock

from ..test_process_mediation import FORMS, do, ready
from ..test_stats import triage
from .conftest import sign_in

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
MINZHENG = "/macheng/minzheng/"
MIN_SIZE = 40  # px: an active step smaller than this on screen cannot be read


def example(form_key: str, **override) -> dict:
    return {**json.loads((FORMS / f"{form_key}.schema.json").read_text(encoding="utf-8"))["examples"][0], **override}


@pytest.fixture(scope="module")
def cases(live_server, ui_database_url):
    """A dispute at 调解会 inside the embedded sub-process of 村级人民调解 (called by 受理研判分流), and a
    whistle whose 签收应哨 waits in 市民政局 (the demo department liaison's unit)."""
    svc = build_services(Settings(database_url=ui_database_url), SystemClock())
    try:
        mediation = svc.cases.start("dispute_intake", {}, "grid", GRID).case.id
        do(svc, mediation, "register")
        triage(svc, mediation)
        for element_id in ("route_confirm", "accept_village", "appoint", "investigate"):
            do(svc, mediation, element_id)
        whistle = svc.cases.start("whistle_dispatch", {}, "town", "/macheng/songbu/").case.id
        do(svc, whistle, "draft", example("whistle_order", category="婚姻家庭", issue_type="其他", urgency="normal"))
        do(svc, whistle, "approve", {"approved": True})
        do(svc, whistle, "confirm", {"lead_dept": MINZHENG, "co_depts": []})
        [ack] = [t for t in ready(svc, whistle) if t.element_id == "ack"]
    finally:
        svc.db.dispose()
    return {"mediation": mediation, "whistle": whistle, "ack": ack.id}


def readable(ui, container: str, element_id: str, marker: str = "is-active") -> dict:
    """The element is marked, at least MIN_SIZE px on screen and its centre inside the diagram."""
    element = ui.locator(f'{container} .djs-element.{marker}[data-element-id="{element_id}"]')
    expect(element).to_have_count(1)
    ui.wait_for_function("""([sel]) => { const b = document.querySelector(sel).getBoundingClientRect();
        return b.width > 0; }""", arg=[f'{container} [data-element-id="{element_id}"] .djs-visual'])
    box = element.locator(".djs-visual").bounding_box()
    frame = ui.locator(container).bounding_box()
    assert box["width"] >= MIN_SIZE and box["height"] >= MIN_SIZE, box
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert frame["x"] < centre[0] < frame["x"] + frame["width"], (box, frame)
    assert frame["y"] < centre[1] < frame["y"] + frame["height"], (box, frame)
    return box


def test_case_page_draws_each_process_on_its_step(ui, cases):
    sign_in(ui, "mediator", next_path=f"/cases/{cases['mediation']}")
    tabs = ui.locator("#diagram-tabs [role=tab]")
    expect(tabs).to_have_count(2)
    expect(tabs.nth(0)).to_contain_text("矛盾纠纷受理研判分流")
    expect(tabs.nth(1)).to_contain_text("村级人民调解")
    # the process with the open step is shown first, opened on the step inside its sub-process
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(ui.locator("#case-diagram")).to_have_attribute("data-process", "village_mediation")
    before = readable(ui, "#case-diagram", "session")
    expect(ui.locator('#case-diagram .djs-connection.is-done').first).to_be_attached()
    expect(ui.locator('#case-diagram .djs-shape.is-done[data-element-id="investigate"]')).to_have_count(1)

    # the whole process on demand, and back to the step
    ui.get_by_role("button", name="显示整张流程图").click()
    ui.wait_for_function("""(w) => document.querySelector('#case-diagram [data-element-id="session"] .djs-visual')
        .getBoundingClientRect().width < w""", arg=before["width"])
    ui.get_by_role("button", name="居中显示当前环节").click()
    readable(ui, "#case-diagram", "session")

    # the calling process: its call activity is the open step
    tabs.nth(0).click()
    expect(ui.locator("#case-diagram")).to_have_attribute("data-process", "dispute_intake")
    readable(ui, "#case-diagram", "call_p2")
    tabs.nth(1).click()
    readable(ui, "#case-diagram", "session")

    ui.set_viewport_size({"width": 375, "height": 740})
    ui.reload()
    readable(ui, "#case-diagram", "session")
    ui.locator("#case-diagram").scroll_into_view_if_needed()


def test_a_department_liaison_sees_its_step_on_the_whistle_diagram(ui, cases):
    ui.set_viewport_size({"width": 375, "height": 740})
    sign_in(ui, "dept", next_path=f"/tasks/{cases['ack']}")
    expect(ui.get_by_role("heading", name="签收应哨", exact=True)).to_be_visible()
    expect(ui.locator("#diagram-title")).to_have_text("流程图：中心吹哨、部门报到")
    expect(ui.locator("#task-diagram")).to_have_attribute("data-process", "whistle_dispatch")
    readable(ui, "#task-diagram", "ack", marker="is-focus")
    expect(ui.locator("#toast")).to_be_hidden()
    ui.locator("#task-diagram").scroll_into_view_if_needed()

"""The residents' page (解纷码) on a phone (issue 20): scan a grid's QR code, get the one-time code
(demo mode: in the server's console log), report with a photo; the grid worker finds the case in
the inbox; the tracking page follows acceptance and closure; the rating shows on the dashboard,
beside the revisit's satisfaction. And what a resident may get wrong, answered in Chinese."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import expect

from api.core.config import Settings
from api.core.services import build_services
from engine.clock import FakeClock

from ..test_process_mediation import do
from .conftest import api_token, sign_in
from .test_dashboard import _drive
from .test_inbox_task import PNG, complete, example, snap

GRID_CODE = "songbu-yangjiawan-g1"
PHONE_SIZE = {"width": 360, "height": 740}
TEXT = "邻居家的排水沟堵了，下雨天污水流进我家院子，说了几次都不理。"


@pytest.fixture
def server_log(live_server, tmp_path_factory):
    """The log of `cunliao serve`, where the demo gateway writes the texts it would send."""
    port = live_server.rsplit(":", 1)[1]
    [path] = [p for p in tmp_path_factory.getbasetemp().glob("serve[0-9]*/serve.log")
              if f"127.0.0.1:{port}" in p.read_text(encoding="utf-8", errors="replace")]
    return path


def code_in_log(log, phone: str) -> str:
    # Log lines mask mobile numbers (api/core/logs.py): the demo console names the phone as 139****4415.
    masked = re.escape(f"{phone[:3]}****{phone[-4:]}")
    found = re.findall(rf"发往 {masked}（code）：.*?验证码是 (\d{{6}})", log.read_text(encoding="utf-8", errors="replace"))
    assert found, f"no code for {phone} in {log}"
    return found[-1]


def phone_number() -> str:
    return f"139{random.randrange(10 ** 8):08d}"


def ask_for_code(ui, phone: str) -> None:
    ui.locator("#phone").fill(phone)
    ui.locator("#send-code").click()
    expect(ui.locator("#code-notice")).to_contain_text("显示在服务器控制台")


def fits_the_screen(ui) -> None:
    assert ui.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    assert ui.evaluate("document.scripts.length") == 0  # no script at all on a resident's page


def test_scan_report_follow_and_rate_on_a_phone(ui, server_log, ui_database_url):
    ui.set_viewport_size(PHONE_SIZE)
    phone = phone_number()
    ui.goto(f"{ui.base}/r/{GRID_CODE}")
    expect(ui.locator(".r-place")).to_have_text("宋埠镇 · 杨家湾村第一网格")
    expect(ui.locator(".r-hint").first).to_contain_text("演示模式")
    fits_the_screen(ui)
    ask_for_code(ui, phone)
    ui.locator("#code").fill(code_in_log(server_log, phone))
    ui.locator("#category").select_option("邻里")
    ui.locator("#description").fill(TEXT)
    ui.locator("#photos").set_input_files([{"name": "门口.png", "mimeType": "image/png", "buffer": PNG}])
    snap(ui, "resident_form")
    ui.locator("#submit").click()
    expect(ui.locator("#submitted")).to_contain_text("已提交")
    tracking_url = ui.url
    case_no = ui.locator("#case-no").inner_text()
    expect(ui.locator("#stage")).to_have_text("已收到，等待网格员受理")
    expect(ui.locator("#steps")).to_contain_text("网格员")
    fits_the_screen(ui)
    assert phone not in ui.content()

    sign_in(ui, "grid")                                         # the grid worker of that grid
    row = ui.locator("tr", has_text=case_no)
    expect(row).to_contain_text("登记纠纷")
    grid = api_token(ui.base, "grid")
    case = next(c for c in requests.get(f"{ui.base}/api/v1/cases?q={case_no}", headers=grid,
                                                      timeout=30).json()["items"] if c["case_no"] == case_no)
    attachments = requests.get(f"{ui.base}/api/v1/cases/{case['id']}/attachments", headers=grid,
                                             timeout=30).json()
    assert [a["content_type"] for a in attachments] == ["image/png"]
    complete(ui.base, grid, case["id"], "register", example("intake_register", channel="resident"))

    ui.goto(tracking_url.split("?")[0])
    expect(ui.locator("#stage")).to_have_text("已受理，正在办理")
    expect(ui.locator("#accepted-at")).to_be_visible()
    close_the_case(ui_database_url, case["id"])
    ui.reload()
    expect(ui.locator("#stage")).to_have_text("已办结")
    expect(ui.locator("#outcome")).to_contain_text("法律途径")
    ui.get_by_label("满意", exact=True).check()
    ui.locator("#comment").fill("网格员来得很快")
    ui.locator("#rate").click()
    expect(ui.locator("#my-rating")).to_have_text("满意：网格员来得很快")
    snap(ui, "resident_rated")

    ui.set_viewport_size({"width": 1366, "height": 768})
    sign_in(ui, "city", next_path="/dashboard")
    expect(ui.locator("#kpi-resident_satisfaction_rate-note")).to_contain_text("满意")
    note = ui.locator("#kpi-resident_satisfaction_rate-note").inner_text()
    rated, satisfied = map(int, re.findall(r"\d+", note))
    assert rated >= 1 and satisfied >= 1


def close_the_case(database_url: str, case_id: int) -> None:
    """The staff's later steps (triage, a refusal guided to court, the hand-off and its follow-up) on
    a clock that runs ahead, firing only this case's timers (like tests/ui/test_dashboard.py)."""
    clock = FakeClock(datetime.now(timezone.utc) + timedelta(minutes=5))
    svc = build_services(Settings(database_url=database_url), clock)
    try:
        for step, data in (("notice", {}), ("classify", {"amount": 5000}), ("risk_confirm", {}),
                           ("scope_check", {"willing": False, "refusing_party": "李某"}),
                           ("guide", {"handoff_route": "court"})):
            do(svc, case_id, step, data)
        _drive(svc, clock, {case_id: {"court_case_no": "(2026)鄂1181民初1号"}})
    finally:
        svc.db.dispose()


def test_wrong_input_is_answered_in_chinese_and_a_guessed_code_finds_nothing(ui, server_log):
    ui.set_viewport_size(PHONE_SIZE)
    phone = phone_number()
    ui.goto(f"{ui.base}/r/{GRID_CODE}")
    ask_for_code(ui, phone)
    right = code_in_log(server_log, phone)
    ui.locator("#code").fill("000000" if right != "000000" else "111111")
    ui.locator("#description").fill("<script>alert(1)</script>有人吵架")
    ui.locator("#photos").set_input_files([{"name": "a.png", "mimeType": "image/png", "buffer": b"not an image"}])
    ui.locator("#submit").click()
    expect(ui.locator("#form-error")).to_have_text("提交的内容有误，请按提示修改")
    expect(ui.locator("#category-error")).to_have_text("请选择事情的类别")
    expect(ui.locator("#description-error")).to_contain_text("不要包含网页代码")
    expect(ui.locator("#photos-error")).to_contain_text("不是照片")
    expect(ui.locator("#description")).to_have_value("<script>alert(1)</script>有人吵架")  # kept, as text
    fits_the_screen(ui)
    ui.locator("#description").fill(TEXT)
    ui.locator("#category").select_option("邻里")
    ui.locator("#code").fill("000000" if right != "000000" else "111111")
    ui.locator("#submit").click()
    expect(ui.locator("#code-error")).to_contain_text("验证码不正确，还可再试")
    ui.locator("#send-code").click()                            # too soon for another code
    expect(ui.locator("#form-error")).to_contain_text("秒后再重新获取")
    snap(ui, "resident_errors")
    ui.goto(f"{ui.base}/r/t/{'A' * 24}")
    expect(ui.locator(".r-problem")).to_have_text("未找到该查询码，请核对短信中的链接或查询码")

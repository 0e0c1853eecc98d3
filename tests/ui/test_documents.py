"""Documents in the browser: at 签署协议 the village mediator issues the agreement, downloads it (its
first page rendered to PNG for a look), uploads the signed scan and then completes the step; the
case page lists it and its QR link opens the public verification page."""
from __future__ import annotations

import hashlib
import io

import pypdfium2 as pdfium
from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import ARTIFACTS, api_token, sign_in
from .test_inbox_task import call, complete, example, ready_task

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"


def case_at_signing(base) -> dict:
    grid, mediator = api_token(base, "grid"), api_token(base, "mediator")
    parties = [{"role": "申请人", "name": "张某", "phone": "13812345678"}, {"role": "被申请人", "name": "李某"}]
    case = call(base, grid, "POST", "cases", process_key="village_mediation", title="张某与李某排水沟纠纷",
                jurisdiction=GRID, data={"risk_level": "yellow", "parties": parties})
    for element_id, form in (("appoint", "mediation_appoint"), ("investigate", "mediation_investigate"),
                             ("session", "mediation_session"), ("draft", "mediation_agreement")):
        complete(base, mediator, case["id"], element_id, example(form))
    return case


def test_the_mediator_issues_downloads_and_signs_the_agreement(ui):
    case = case_at_signing(ui.base)
    task = ready_task(ui.base, api_token(ui.base, "mediator"), case["id"], "sign")
    sign_in(ui, "mediator", next_path=f"/tasks/{task['id']}")
    panel = ui.locator("#task-documents")
    expect(panel.get_by_text("本步骤需要：人民调解协议书（含签署件）")).to_be_visible()
    panel.get_by_role("button", name="制作人民调解协议书").click()
    row = panel.locator("li[data-number]")
    expect(row).to_contain_text("调字第")
    number = row.get_attribute("data-number")

    with ui.expect_download() as download:
        row.get_by_role("link", name="下载人民调解协议书").click()
    pdf = open(download.value.path(), "rb").read()
    assert number in "".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image = pdfium.PdfDocument(pdf)[0].render(scale=1.5).to_pil()
    image.save(ARTIFACTS / "documents_agreement_page1.png")
    assert image.width > 800 and image.convert("L").getextrema()[0] < 80  # a real page with dark text

    row.locator("input[type=file]").set_input_files(
        {"name": "signed.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 signed by both parties"})
    row.get_by_role("button", name="上传签署件").click()
    expect(row.get_by_text("签署件已存档")).to_be_visible()
    expect(panel.locator(".doc-unsigned")).to_have_count(0)

    for label, answer in (("当事人已签名或按指印", "是"), ("调解员已签名", "是"), ("申请司法确认", "否")):
        ui.get_by_role("group", name=label).get_by_label(answer).check()
    ui.get_by_label("协议生效日期").fill("2026-03-06")
    ui.get_by_role("button", name="完成").click()
    expect(ui.locator(".done-panel")).to_be_visible()

    ui.goto(f"{ui.base}/cases/{case['id']}")
    listed = ui.locator("#case-documents li[data-number]")
    expect(listed).to_contain_text(number)
    expect(listed.get_by_text("签署件已存档")).to_be_visible()
    with ui.expect_download() as again:
        listed.get_by_role("link", name="下载人民调解协议书").click()
    assert hashlib.sha256(open(again.value.path(), "rb").read()).hexdigest() == hashlib.sha256(pdf).hexdigest()
    with ui.context.expect_page() as opened:
        listed.get_by_role("link", name="核验").click()
    verify = opened.value
    expect(verify.get_by_text("该文书确由下列单位出具，且为最新版本。")).to_be_visible()
    expect(verify.get_by_text("宋埠镇杨家湾村人民调解委员会")).to_be_visible()
    expect(verify.get_by_text("张某")).to_have_count(0)
    verify.screenshot(path=str(ARTIFACTS / "documents_verify_page.png"), full_page=True)

"""The grid census page: import with a dry run (every bad row shown, import only after a clean check,
the progress indicator), the people list (also at phone width), this week's round with a visit and
its hours, and the masked Excel export."""
from __future__ import annotations

import io
import random
import re
import uuid
from datetime import datetime, timedelta, timezone

import requests
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from .conftest import ARTIFACTS, api_token, sign_in

G1 = "songbu-yangjiawan-g1"
HEADER = ["姓名", "身份证号", "电话", "户主", "地址", "网格编码", "人员类别（多个用;分隔）"]
CHINA = timezone(timedelta(hours=8))
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_no(serial: int, birth: str) -> str:
    """A valid resident ID number (the check digit computed), as tests/test_census.py makes them."""
    body = f"420102{birth}{serial:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W)) % 11]


def fresh_ids(count: int) -> list[str]:
    """ID numbers no other test uses (the UI server's database is shared by the whole session)."""
    birth = f"19{random.randint(50, 99)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
    start = random.randint(100, 900)
    return [id_no(start + n, birth) for n in range(count)]


def xlsx(path, rows) -> str:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "人口信息"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("填表说明").append(["每人一行；带*为必填"])
    workbook.save(path)
    return str(path)


def shot(ui, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui.screenshot(path=str(ARTIFACTS / f"census_{name}.png"), full_page=True)


def test_import_dry_run_shows_bad_rows_then_imports(ui, tmp_path):
    tag = uuid.uuid4().hex[:4]
    ids = fresh_ids(3)
    names = [f"{surname}{tag}" for surname in ("赵", "钱", "孙")]
    good = [[names[0], ids[0], "13800001111", names[0], "杨家湾村3组12号", G1, "常住"],
            [names[1], ids[1], "", names[0], "杨家湾村3组12号", G1, "常住;困难群体"]]
    broken = ids[2][:-1] + ("0" if ids[2][-1] != "0" else "1")  # a wrong check digit
    bad_file = xlsx(tmp_path / "人口-有错.xlsx", [*good, [names[2], broken, "13900003333", "", "", G1, "流动"]])
    fixed_file = xlsx(tmp_path / "人口.xlsx", [*good, [names[2], ids[2], "13900003333", "", "", G1, "流动"]])

    sign_in(ui, "grid", next_path="/census?tab=import")
    check, run = ui.get_by_role("button", name="预检"), ui.get_by_role("button", name="导入", exact=True)
    expect(run).to_be_disabled()
    ui.locator("#import-file").set_input_files(bad_file)
    check.click()
    errors = ui.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first.locator("td").nth(1)).to_have_text("人口信息")
    expect(errors.first.locator(".row-no")).to_have_text("4")  # header is row 1: the third person is row 4
    expect(errors.first.locator("td").nth(3)).to_have_text("身份证号")
    expect(errors.first.locator(".reason")).to_contain_text("校验位")
    expect(ui.locator("#import-summary")).to_contain_text("未导入任何数据")
    expect(ui.locator("#import-progress")).to_have_attribute("data-trail", re.compile(r"^upload server failed$"))
    expect(run).to_be_disabled()
    shot(ui, "import_bad_row")

    ui.locator("#import-file").set_input_files(fixed_file)
    expect(ui.locator("#import-errors")).to_have_count(0)
    check.click()
    expect(ui.locator("#import-summary")).to_contain_text("预检通过：已校验 3 行")
    expect(ui.locator("#import-counts tbody tr").first).to_contain_text("人口3")
    expect(ui.locator("#import-progress")).to_have_attribute("data-trail", "upload server done")
    expect(run).to_be_enabled()
    run.click()
    expect(ui.locator("#import-summary")).to_contain_text("已从 人口.xlsx 导入 3 行")
    expect(ui.locator("#import-stage")).to_have_text("导入完成")
    expect(run).to_be_disabled()  # a second import needs a new check
    shot(ui, "import_done")

    ui.get_by_role("link", name="人口", exact=True).click()
    ui.locator("#p-q").fill(tag)
    rows = ui.locator("#people-rows tr")
    expect(rows).to_have_count(3)
    first = rows.filter(has_text=names[0])
    expect(first).to_contain_text(ids[0][:4] + "*" * 10 + ids[0][-4:])
    expect(first).to_contain_text("138****1111")
    expect(first).to_contain_text("常住")
    assert ids[0] not in ui.content() and "13800001111" not in ui.content()
    expect(rows.filter(has_text=names[1])).to_contain_text("困难群体")
    ui.locator("#p-flag").select_option("流动")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(names[2])


def test_round_visit_hours_export_and_phone_width(ui, live_server, tmp_path):
    tag = uuid.uuid4().hex[:4]
    ids = fresh_ids(2)
    names = [f"周{tag}", f"吴{tag}"]
    workbook = Workbook()
    workbook.active.title = "人口信息"
    workbook.active.append(HEADER)
    workbook.active.append([names[0], ids[0], "13700007777", names[0], "杨家湾村1组1号", G1, "常住"])
    workbook.active.append([names[1], ids[1], "", names[0], "杨家湾村1组1号", G1, "特殊人群"])
    content = io.BytesIO()
    workbook.save(content)
    seeded = requests.post(f"{live_server}/api/v1/census/import", headers=api_token(live_server, "grid"),
                           files={"files": ("seed.xlsx", content.getvalue())}, timeout=60)
    assert seeded.status_code == 200, seeded.text

    sign_in(ui, "grid", next_path="/census?tab=round")
    expect(ui.locator("#round-start, #round-items").first).to_be_visible()
    if ui.locator("#round-start").is_visible():
        ui.get_by_role("button", name="开始本周排查").click()
    items = ui.locator("#round-items li")
    person = {name: items.filter(has=ui.locator(".what", has_text=re.compile(f"^{name}$"))) for name in names}
    expect(person[names[0]]).to_have_count(1)
    expect(items.filter(has_text=f"户 {names[0]}户")).to_have_count(1)  # the household is to verify too
    ui.get_by_label(f"人员 {names[0]}", exact=True).check()

    now = datetime.now(CHINA)
    day, start = (now.date(), "00:30") if now.hour >= 3 else ((now - timedelta(days=1)).date(), "09:00")
    ui.locator("#v-date").fill(day.isoformat())
    ui.locator("#v-start").fill(start)
    ui.locator("#v-hours").fill("2.5")
    ui.locator("#v-location").fill("杨家湾村1组")
    ui.locator("#v-findings").fill("家中无矛盾，信息属实")
    ui.get_by_role("button", name="保存走访").click()
    expect(ui.locator("#visit-result")).to_contain_text("走访已保存，核实 1 项")
    expect(ui.locator("#visit-result")).to_contain_text("共 2.5 小时（目标 4 小时）")
    expect(person[names[0]]).to_contain_text("已核实")
    expect(person[names[1]]).to_contain_text("待走访")
    expect(ui.locator("#round-count")).to_contain_text("已核实")
    shot(ui, "round_visit")

    ui.get_by_role("link", name="走访时长").click()
    expect(ui.locator("#hours-week")).to_contain_text("至")
    if day.isoformat() < ui.locator("#hours-week").inner_text()[:10]:  # the visit was last week (a Monday morning)
        ui.get_by_role("button", name="上一周").click()
    hours_cell = ui.locator(f'#hours-table tr[data-worker="grid"] td[data-day="{day.isoformat()}"]')
    expect(hours_cell).to_have_text(re.compile(r"^2\.5"))
    expect(hours_cell).to_have_class(re.compile(r"\bunder\b"))  # under the 4-hour target
    shot(ui, "hours")

    with ui.expect_download() as download:
        ui.get_by_role("link", name="导出 Excel").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert download.value.suggested_filename == f"census-{G1}.xlsx"
    exported = load_workbook(path)
    people = [list(r) for r in exported["人口信息"].iter_rows(values_only=True)]
    mine = {r[0]: r for r in people if r[0] in names}
    assert mine[names[0]][1] == ids[0][:4] + "*" * 10 + ids[0][-4:] and mine[names[0]][2] == "137****7777"
    assert ids[0] not in str(people) and "13700007777" not in str(people)

    ui.set_viewport_size({"width": 390, "height": 844})
    ui.goto(f"{ui.base}/census?tab=people")
    ui.locator("#p-q").fill(tag)
    rows = ui.locator("#people-rows tr")
    expect(rows).to_have_count(2)
    expect(ui.locator("#people-table thead")).to_be_hidden()  # stacked cards on a phone
    expect(rows.first.locator('td[data-label="身份证号"]')).to_be_visible()
    assert ui.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

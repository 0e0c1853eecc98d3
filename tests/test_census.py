"""The grid census: import (xlsx, csv, bad rows, CLI), scoping, history, rounds, visits, visit hours, export."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from api.census.service import CensusChange, CensusPerson
from cunliao.cli import main as cli

PROBLEM = "application/problem+json"
HEADER = ["姓名", "身份证号", "电话", "户主", "地址", "网格编码", "人员类别（多个用;分隔）"]
G1 = "songbu-yangjiawan-g1"
G1_PATH = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
OTHER_TOWN = "guishan-guifeng-g1"
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_no(serial: int, birth: str = "19800101") -> str:
    """A valid resident ID number (the check digit computed)."""
    body = f"420102{birth}{serial:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W)) % 11]


GOOD_ROWS = [
    ["张三", id_no(1), "13800001111", "张三", "杨家湾村3组12号", G1, "常住"],
    ["李四", id_no(2), "13800002222", "张三", "杨家湾村3组12号", G1, "常住;困难群体"],
    ["王五", id_no(3), "", "王五", "杨家湾村5组1号", "songbu-yangjiawan-g2", "流动、重点人员"],
]


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "人口信息"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    notes = workbook.create_sheet("填表说明")
    notes.append(["说明"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, headers, name: str, content: bytes, dry_run: bool = False):
    return client.post(f"/api/v1/census/import?dry_run={'true' if dry_run else 'false'}", headers=headers,
                       data={"files": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json()


def people_count(svc) -> int:
    with svc.db.read() as session:
        return session.scalar(select(func.count()).select_from(CensusPerson))


def test_import_xlsx_then_csv_dry_run_first(client, login, svc):
    town = login("town")
    dry = upload(client, town, "人口.xlsx", xlsx_bytes(GOOD_ROWS), dry_run=True)
    assert dry.status_code == 200, dry.get_json()
    none = {"created": 0, "updated": 0, "unchanged": 0}
    assert dry.get_json() == {"dry_run": True, "rows": 3, "people": {"created": 3, "updated": 0, "unchanged": 0},
                              "households_created": 2,
                              "items": {k: none for k in ("house", "land", "event", "thing", "organisation")}}
    assert people_count(svc) == 0

    done = upload(client, town, "人口.xlsx", xlsx_bytes(GOOD_ROWS))
    assert done.status_code == 200 and done.get_json()["people"]["created"] == 3
    people = client.get("/api/v1/census/people", headers=town).get_json()
    assert [p["name"] for p in people] == ["张三", "李四", "王五"]
    zhang, li, wang = people
    assert zhang["id_no"] == id_no(1)[:4] + "*" * 10 + id_no(1)[-4:] and zhang["phone"] == "138****1111"
    assert zhang["household_id"] == li["household_id"] != wang["household_id"]
    assert li["flags"] == ["常住", "困难群体"] and wang["flags"] == ["流动", "重点人员"] and wang["phone"] is None
    assert [p["name"] for p in client.get("/api/v1/census/people?flag=困难群体", headers=town).get_json()] == ["李四"]
    assert [p["name"] for p in client.get("/api/v1/census/people?q=王", headers=town).get_json()] == ["王五"]
    assert client.get("/api/v1/census/people?q=%25", headers=town).get_json() == []  # a LIKE wildcard is a letter
    households = client.get("/api/v1/census/items?kind=household", headers=town).get_json()
    assert {h["attributes"]["head"] for h in households} == {"张三", "王五"}
    with svc.db.read() as session:  # sealed at rest: the plain number is nowhere in the row
        stored = session.get(CensusPerson, zhang["id"])
        assert id_no(1) not in str(stored.id_no) and stored.id_hash == svc.vault.identity_hash(id_no(1))

    # A GBK CSV (Excel on Chinese Windows): the same people again, one changed, one new.
    rows = [GOOD_ROWS[0], ["李四", id_no(2), "13900002222", "张三", "杨家湾村3组12号", G1, "常住"],
            ["赵六", id_no(4), "0713-1234567", "", "", G1, ""]]
    again = upload(client, town, "人口.csv", csv_bytes(rows, encoding="gb18030"))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["people"] == {"created": 1, "updated": 1, "unchanged": 1}
    assert people_count(svc) == 4
    history = client.get(f"/api/v1/census/changes?target_type=person&target_id={li['id']}", headers=town).get_json()
    assert [c["action"] for c in history] == ["update", "create"]
    assert history[0]["before"]["phone"] == "138****2222" and history[0]["after"]["phone"] == "139****2222"
    assert history[0]["before"]["flags"] == ["常住", "困难群体"] and history[0]["actor"] == "town"


def test_bad_rows_are_each_reported_and_nothing_is_imported(client, login, svc):
    town = login("town")
    bad = [
        GOOD_ROWS[0],                                                      # row 2: good
        ["", id_no(5), "", "", "", G1, ""],                                # row 3: no name
        ["钱七", "420102198001010000", "", "", "", G1, ""],                 # row 4: wrong check digit
        ["孙八", id_no(1), "", "", "", G1, ""],                             # row 5: same ID as row 2
        ["周九", id_no(6), "12345", "", "", G1, ""],                        # row 6: bad phone
        ["吴十", id_no(7), "", "", "", "nowhere", ""],                      # row 7: unknown grid
        ["郑一", id_no(8), "", "", "", OTHER_TOWN, ""],                     # row 8: another town's grid
        ["冯二", id_no(9), "", "", "", G1, "常住;外星人"],                    # row 9: unknown category
    ]
    for dry_run in (True, False):
        for name, content in (("bad.xlsx", xlsx_bytes(bad)), ("bad.csv", csv_bytes(bad))):
            body = problem(upload(client, town, name, content, dry_run=dry_run), 422)
            assert "nothing was imported" in body["detail"] and "未导入" in body["message"]
            found = [(e["row"], e["column"]) for e in body["errors"]]
            assert found == [(3, "姓名"), (4, "身份证号"), (5, "身份证号"), (6, "电话"), (7, "网格编码"),
                             (8, "网格编码"), (9, "人员类别")], found
            assert all(e["file"] == name and e["message"] and e["detail"] for e in body["errors"])
            assert "第 2 行" in body["errors"][2]["message"]
    assert people_count(svc) == 0
    missing = problem(upload(client, town, "x.csv", csv_bytes([["甲"]], header=["姓名", "电话"])), 422)
    assert "身份证号" in missing["errors"][0]["message"]
    problem(upload(client, town, "x.txt", b"hello"), 422)
    problem(client.post("/api/v1/census/import", headers=town), 400)
    problem(upload(client, login("auditor"), "人口.xlsx", xlsx_bytes(GOOD_ROWS)), 403)


def test_cli_import_with_progress(db_url, tmp_path, svc):
    good, bad = tmp_path / "人口.xlsx", tmp_path / "bad.csv"
    good.write_bytes(xlsx_bytes(GOOD_ROWS))
    bad.write_bytes(csv_bytes([["钱七", "420102198001010000", "", "", "", G1, ""]]))
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    failed = runner.invoke(cli, ["import-census", str(bad)], env=env)
    assert failed.exit_code == 1 and "第2行" in failed.stderr and "check digit" in failed.stderr
    dry = runner.invoke(cli, ["import-census", str(good), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.stdout and "3 rows: people 3 new" in dry.stdout and people_count(svc) == 0
    done = runner.invoke(cli, ["import-census", str(good), "--by", "ops"], env=env)
    assert done.exit_code == 0, done.output
    assert "importing" in done.stderr and "imported; 3 rows" in done.stdout and people_count(svc) == 3
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(CensusChange).where(CensusChange.actor == "ops")) == 5


def test_scoping_and_read_only_roles(client, login):
    town, city, auditor = login("town"), login("city"), login("auditor")
    person = client.post("/api/v1/census/people", headers=city, json={
        "grid": OTHER_TOWN, "name": "郑一", "id_no": id_no(8), "phone": "13700000000", "flags": ["流动"]})
    assert person.status_code == 201, person.get_json()
    pid = person.get_json()["id"]
    assert person.get_json()["phone"] == "137****0000"
    problem(client.get(f"/api/v1/census/people/{pid}", headers=town), 404)
    # by ID number (keyed hash, in the body): found in the caller's area only; not for read-only roles
    found = client.post("/api/v1/census/people/search", headers=city, json={"id_no": id_no(8).lower()})
    assert [p["id"] for p in found.get_json()] == [pid] and found.get_json()[0]["id_no"].startswith(id_no(8)[:4] + "**")
    assert client.post("/api/v1/census/people/search", headers=town, json={"id_no": id_no(8)}).get_json() == []
    problem(client.post("/api/v1/census/people/search", headers=auditor, json={"id_no": id_no(8)}), 403)
    problem(client.patch(f"/api/v1/census/people/{pid}", headers=town, json={"name": "x"}), 404)
    problem(client.get(f"/api/v1/census/people/{pid}/personal-data?reason=核实身份", headers=town), 404)
    problem(client.get(f"/api/v1/census/people?grid={OTHER_TOWN}", headers=town), 404)
    problem(client.get(f"/api/v1/census/export?grid={OTHER_TOWN}", headers=town), 404)
    problem(client.post("/api/v1/census/people", headers=town,
                        json={"grid": OTHER_TOWN, "name": "x", "id_no": id_no(9)}), 404)
    problem(client.post("/api/v1/census/rounds", headers=town, json={"grid": OTHER_TOWN, "week_start": "2026-03-02"}),
            404)
    taken = problem(upload(client, town, "人口.csv", csv_bytes([["郑一", id_no(8), "", "", "", G1, ""]])), 422)
    assert [(e["row"], e["column"]) for e in taken["errors"]] == [(2, "身份证号")]
    assert client.get("/api/v1/census/people", headers=town).get_json() == []
    assert client.get("/api/v1/census/changes", headers=town).get_json() == []
    # Auditors read everything in their area, masked, and change nothing.
    assert [p["id"] for p in client.get("/api/v1/census/people", headers=auditor).get_json()] == [pid]
    problem(client.patch(f"/api/v1/census/people/{pid}", headers=auditor, json={"name": "x"}), 403)
    problem(client.post("/api/v1/census/people", headers=auditor,
                        json={"grid": OTHER_TOWN, "name": "x", "id_no": id_no(9)}), 403)
    problem(client.get(f"/api/v1/census/people/{pid}/personal-data?reason=核实身份", headers=auditor), 403)
    problem(client.post("/api/v1/census/people", headers=city,
                        json={"grid": OTHER_TOWN, "name": "郑一", "id_no": id_no(8)}), 409)
    assert "id_no" in problem(client.post("/api/v1/census/people", headers=city, json={
        "grid": OTHER_TOWN, "name": "x", "id_no": "420102198001010000"}), 422)["errors"]


def test_history_and_audited_unmask(client, login):
    grid = login("grid")
    made = client.post("/api/v1/census/people", headers=grid, json={
        "grid": G1, "name": "张三", "id_no": id_no(1), "phone": "13800001111", "address": "3组12号"})
    assert made.status_code == 201, made.get_json()
    pid = made.get_json()["id"]
    changed = client.patch(f"/api/v1/census/people/{pid}", headers=grid,
                           json={"phone": "13800009999", "flags": ["困难群体"]})
    assert changed.status_code == 200 and changed.get_json()["phone"] == "138****9999"
    # A new number that masks the same still makes a history row.
    same_mask = client.patch(f"/api/v1/census/people/{pid}", headers=grid, json={"phone": "13811119999"})
    assert same_mask.status_code == 200
    unchanged = client.patch(f"/api/v1/census/people/{pid}", headers=grid, json={"phone": "13811119999"})
    assert unchanged.status_code == 200
    real = client.get(f"/api/v1/census/people/{pid}/personal-data?reason=电话联系", headers=grid)
    assert real.status_code == 200 and real.get_json() == {"id": pid, "id_no": id_no(1), "phone": "13811119999"}
    problem(client.get(f"/api/v1/census/people/{pid}/personal-data", headers=grid), 422)
    history = client.get(f"/api/v1/census/changes?target_type=person&target_id={pid}", headers=grid).get_json()
    assert [c["action"] for c in history] == ["personal_data_viewed", "update", "update", "create"]
    assert history[0]["after"] == {"fields": ["id_no", "phone"], "reason": "电话联系"} and history[0]["actor"] == "grid"
    assert history[2]["before"]["phone"] == "138****1111" and history[2]["after"]["flags"] == ["困难群体"]
    assert id_no(1) not in str(history) and "13811119999" not in str(history)
    item = client.post("/api/v1/census/items", headers=grid, json={
        "grid": G1, "kind": "land", "name": "3组水田", "attributes": {"area_mu": 2.5, "phone": "13800001111"}})
    assert item.status_code == 201 and item.get_json()["attributes"] == {"area_mu": 2.5, "phone": "138****1111"}
    assert client.get("/api/v1/census/changes?target_type=item", headers=grid).get_json()[0]["action"] == "create"


def _visit(client, headers, start: datetime, hours: float, **extra):
    body = {"started_at": start.isoformat(), "ended_at": (start + timedelta(hours=hours)).isoformat(),
            "location": "杨家湾村3组", "findings": "无异常", **extra}
    return client.post("/api/v1/census/visits", headers=headers, json=body)


CST = timezone(timedelta(hours=8))


def test_round_visits_and_overdue_items(client, login, clock):
    grid, town = login("grid"), login("town")
    assert upload(client, town, "人口.xlsx", xlsx_bytes(GOOD_ROWS)).status_code == 200  # 2 people + 1 household in g1
    people = {p["name"]: p["id"] for p in client.get(f"/api/v1/census/people?grid={G1}", headers=grid).get_json()}
    assert set(people) == {"张三", "李四"}
    problem(client.post("/api/v1/census/rounds", headers=login("mediator"),
                        json={"grid": G1, "week_start": "2026-03-02"}), 403)
    assert "week_start" in problem(client.post("/api/v1/census/rounds", headers=grid,
                                               json={"grid": G1, "week_start": "2026-03-03"}), 422)["errors"]
    made = client.post("/api/v1/census/rounds", headers=grid, json={"grid": G1, "week_start": "2026-03-02"})
    assert made.status_code == 201, made.get_json()
    rnd = made.get_json()
    assert rnd["window_start"].startswith("2026-03-01T16:00") and rnd["window_end"].startswith("2026-03-08T16:00")
    assert rnd["progress"] == {"total": 3, "verified": 0, "verified_in_time": 0, "overdue": 0, "percent": 0.0}
    problem(client.post("/api/v1/census/rounds", headers=town, json={"grid": G1, "week_start": "2026-03-02"}), 409)

    clock.set(datetime(2026, 3, 3, 6, 0, tzinfo=timezone.utc))  # Tuesday 14:00 in China
    grid, town = login("grid"), login("town")  # the old tokens have expired
    visit = _visit(client, grid, datetime(2026, 3, 3, 9, 0, tzinfo=CST), 2.5, round_id=rnd["id"],
                   verified=[{"target_type": "person", "target_id": people["张三"]}])
    assert visit.status_code == 201, visit.get_json()
    assert visit.get_json()["worker"] == "grid" and visit.get_json()["grid_path"] == G1_PATH
    problem(_visit(client, grid, datetime(2026, 3, 3, 15, 0, tzinfo=CST), 1, round_id=rnd["id"]), 422)  # future
    problem(_visit(client, login("dept"), datetime(2026, 3, 3, 9, 0, tzinfo=CST), 1, round_id=rnd["id"]), 403)
    wang = client.get("/api/v1/census/people?grid=songbu-yangjiawan-g2", headers=town).get_json()[0]["id"]
    assert "verified" in problem(_visit(client, grid, datetime(2026, 3, 3, 8, 0, tzinfo=CST), 0.5, round_id=rnd["id"],
                                        verified=[{"target_type": "person", "target_id": wang}]), 422)["errors"]
    progress = client.get(f"/api/v1/census/rounds/{rnd['id']}", headers=town).get_json()
    assert progress["progress"]["verified"] == 1 and progress["progress"]["overdue"] == 0 and not progress["closed"]
    problem(client.get(f"/api/v1/census/rounds/{rnd['id']}", headers=login("dept")), 404)

    clock.set(datetime(2026, 3, 9, 1, 0, tzinfo=timezone.utc))  # the next Monday: the window has closed
    grid, town = login("grid"), login("town")
    late = _visit(client, grid, datetime(2026, 3, 9, 8, 0, tzinfo=CST), 1, round_id=rnd["id"],
                  verified=[{"target_type": "person", "target_id": people["李四"]}])
    assert late.status_code == 201
    closed = client.get(f"/api/v1/census/rounds/{rnd['id']}", headers=grid).get_json()
    assert closed["closed"] and closed["progress"] == {"total": 3, "verified": 2, "verified_in_time": 1,
                                                        "overdue": 2, "percent": 66.7}
    overdue = {i["label"] for i in closed["items"] if i["overdue"]}
    assert overdue == {"李四", "household: 张三户 杨家湾村3组12号"}
    assert [r["id"] for r in client.get("/api/v1/census/rounds", headers=town).get_json()] == [rnd["id"]]


def test_visit_hours_per_worker_per_day(client, login, clock):
    clock.set(datetime(2026, 3, 4, 4, 0, tzinfo=timezone.utc))
    grid = login("grid")
    for start, hours in ((datetime(2026, 3, 2, 22, 0, tzinfo=CST), 4),  # 2 h of it on the 3rd
                         (datetime(2026, 3, 3, 9, 0, tzinfo=CST), 1.5),
                         (datetime(2026, 3, 3, 14, 0, tzinfo=CST), 0.75),
                         (datetime(2026, 3, 4, 8, 0, tzinfo=CST), 1)):
        answer = _visit(client, grid, start, hours, grid=G1)
        assert answer.status_code == 201, answer.get_json()
    problem(client.post("/api/v1/census/visits", headers=grid, json={
        "grid": G1, "started_at": "2026-03-03T10:00:00+08:00", "ended_at": "2026-03-03T09:00:00+08:00",
        "location": "x"}), 422)
    hours = client.get("/api/v1/census/visit-hours?date=2026-03-03", headers=login("town")).get_json()
    assert hours == [{"worker": "grid", "date": "2026-03-03", "hours": 4.25, "visits": 3, "target_hours": 4.0,
                      "meets_target": True}]
    day4 = client.get("/api/v1/census/visit-hours?date=2026-03-04", headers=grid).get_json()
    assert day4[0]["hours"] == 1.0 and day4[0]["meets_target"] is False
    assert client.get("/api/v1/census/visit-hours?date=2026-03-03", headers=login("dept")).get_json() == []
    problem(client.get(f"/api/v1/census/visit-hours?date=2026-03-03&grid={OTHER_TOWN}", headers=grid), 404)


def test_export_masks_personal_data(client, login):
    town = login("town")
    assert upload(client, town, "人口.xlsx", xlsx_bytes(GOOD_ROWS)).status_code == 200
    answer = client.get(f"/api/v1/census/export?grid={G1}", headers=town)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    rows = [list(r) for r in load_workbook(io.BytesIO(answer.data)).worksheets[0].iter_rows(values_only=True)]
    assert rows[0] == ["姓名", "身份证号", "电话", "户主", "地址", "网格编码", "人员类别"]
    assert rows[1] == ["张三", id_no(1)[:4] + "*" * 10 + id_no(1)[-4:], "138****1111", "张三", "杨家湾村3组12号", G1,
                       "常住"]
    assert len(rows) == 3 and id_no(1) not in str(rows) and "13800001111" not in str(rows)
    assert client.get(f"/api/v1/census/export?grid={G1}", headers=login("auditor")).status_code == 200


# --- houses, land, events, things, organisations ---------------------------------------------------

HOUSE_HEADER = ["房屋地址*", "网格编码*", "房屋用途*", "产权人", "产权人身份证号", "产权人电话", "建筑面积（㎡）", "房屋结构",
                "安全隐患（是/否）", "备注"]
LAND_HEADER = ["地块名称*", "网格编码*", "土地类型*", "权利人", "权利人身份证号", "权证编号", "面积（亩）", "四至", "备注"]
EVENT_HEADER = ["事件名称", "网格编码", "事件类型", "发生日期", "上报人", "处理状态", "发生地点", "事件描述"]
THING_HEADER = ["设施名称", "网格编码", "设施类型", "位置", "状态", "管理人", "管理人电话", "备注"]
ORG_HEADER = ["组织名称", "网格编码", "组织类型", "统一社会信用代码", "负责人", "联系电话", "地址", "人数", "备注"]
HOUSES = [["杨家湾村3组12号", G1, "自住", "张三", id_no(1), "13800001111", 120.5, "砖混", "否", ""],
          ["杨家湾村3组14号", G1, "出租", "李四", "", "", "86", "砖木", "是", "墙体开裂"]]
LANDS = [["3组-宅基地-012", G1, "宅基地", "张三", id_no(1), "鄂(2020)麻城市不动产权第0001号", "0.3", "东至李四，西至水沟", ""]]
EVENTS = [["排水沟堵塞纠纷", G1, "矛盾纠纷", "2026-03-01", "李网格", "处理中", "3组", "两户因排水沟争吵"]]
THINGS = [["3组消防栓", G1, "消防设施", "3组路口", "正常", "王五", "13700003333", ""]]
ORGS = [["杨家湾村五老和谐会", G1, "五老和谐会", "", "赵六", "0713-1234567", "村委会", "7", ""],
        ["麻城某建材有限公司", G1, "企业", "91421181MA4F12345X", "钱七", "", "3组", "", ""]]


def workbook_bytes(**sheets) -> bytes:
    workbook = Workbook()
    workbook.active.title = "填表说明"
    workbook.active.append(["每类一张表；带*为必填"])
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def full_census(**changes) -> bytes:
    sheets = {"人口信息": (HEADER, GOOD_ROWS), "房屋信息": (HOUSE_HEADER, HOUSES), "土地信息": (LAND_HEADER, LANDS),
              "事件信息": (EVENT_HEADER, EVENTS), "物品设施": (THING_HEADER, THINGS), "组织信息": (ORG_HEADER, ORGS)}
    sheets.update(changes)
    return workbook_bytes(**sheets)


def test_houses_land_events_things_organisations_import_and_reimport(client, login, svc):
    town = login("town")
    dry = upload(client, town, "普查.xlsx", full_census(), dry_run=True)
    assert dry.status_code == 200, dry.get_json()
    counts = dry.get_json()
    assert counts["rows"] == 10 and counts["people"]["created"] == 3
    assert {k: v["created"] for k, v in counts["items"].items()} == {
        "house": 2, "land": 1, "event": 1, "thing": 1, "organisation": 2}
    assert client.get("/api/v1/census/items?kind=house", headers=town).get_json() == []

    assert upload(client, town, "普查.xlsx", full_census()).get_json()["items"]["house"]["created"] == 2
    houses = client.get("/api/v1/census/items?kind=house", headers=town).get_json()
    assert [h["name"] for h in houses] == ["杨家湾村3组12号", "杨家湾村3组14号"]
    first = houses[0]
    assert first["grid_path"] == G1_PATH and first["attributes"] == {
        "use": "自住", "owner": {"name": "张三", "id_no": id_no(1)[:4] + "*" * 10 + id_no(1)[-4:], "phone": "138****1111"},
        "area": 120.5, "structure": "砖混", "hazard": False}
    assert houses[1]["attributes"]["hazard"] is True and houses[1]["attributes"]["note"] == "墙体开裂"
    [land] = client.get("/api/v1/census/items?kind=land", headers=town).get_json()
    assert land["attributes"]["type"] == "宅基地" and land["attributes"]["area"] == 0.3
    [event] = client.get("/api/v1/census/items?kind=event", headers=town).get_json()
    assert event["attributes"]["occurred_on"] == "2026-03-01" and event["attributes"]["status"] == "处理中"
    orgs = client.get("/api/v1/census/items?kind=organisation", headers=town).get_json()
    assert orgs[0]["attributes"]["contact"]["phone"] == "071*****4567" and orgs[0]["attributes"]["members"] == 7
    with svc.db.read() as session:  # personal data in attributes is sealed at rest
        from api.census.service import CensusItem
        stored = session.get(CensusItem, first["id"])
        assert id_no(1) not in str(stored.attributes) and "13800001111" not in str(stored.attributes)

    # Re-import: matched by kind, grid and name; one house changed, the rest unchanged.
    changed = [HOUSES[0], ["杨家湾村3组14号", G1, "空置", "李四", "", "", "86", "砖木", "是", "墙体开裂"]]
    again = upload(client, town, "普查.xlsx", full_census(房屋信息=(HOUSE_HEADER, changed))).get_json()
    assert "items" in again, again
    assert again["items"]["house"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert again["items"]["organisation"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again["people"] == {"created": 0, "updated": 0, "unchanged": 3}
    history = client.get(f"/api/v1/census/changes?target_type=item&target_id={houses[1]['id']}",
                         headers=town).get_json()
    assert [c["action"] for c in history] == ["update", "create"]
    assert (history[0]["before"]["attributes"]["use"], history[0]["after"]["attributes"]["use"]) == ("出租", "空置")

    # One kind per CSV file.
    land_csv = csv_bytes([["4组-承包地-001", G1, "承包地", "", "", "", "1.2", "", ""]], header=LAND_HEADER)
    assert upload(client, town, "土地.csv", land_csv).get_json()["items"]["land"]["created"] == 1


def test_bad_item_rows_are_each_reported_with_sheet_row_and_reason(client, login, svc):
    town = login("town")
    bad_houses = [HOUSES[0],
                  ["", G1, "自住", "", "", "", "", "", "", ""],                          # row 3: no address
                  ["杨家湾村3组12号", G1, "自住", "", "", "", "", "", "", ""],           # row 4: same house as row 2
                  ["杨家湾村3组20号", G1, "仓库", "", "420102198001010000", "", "-5", "茅草", "也许", ""]]  # row 5
    bad_orgs = [["某公司", "nowhere", "公司", "123", "", "555", "", "很多", ""]]          # row 2
    content = full_census(房屋信息=(HOUSE_HEADER, bad_houses), 组织信息=(ORG_HEADER, bad_orgs))
    for dry_run in (True, False):
        body = problem(upload(client, town, "普查.xlsx", content, dry_run=dry_run), 422)
        found = [(e["sheet"], e["row"], e["column"]) for e in body["errors"]]
        assert found == [
            ("房屋信息", 3, "房屋地址"), ("房屋信息", 4, "房屋地址"), ("房屋信息", 5, "房屋用途"),
            ("房屋信息", 5, "产权人身份证号"), ("房屋信息", 5, "建筑面积"), ("房屋信息", 5, "房屋结构"),
            ("房屋信息", 5, "安全隐患"),
            ("组织信息", 2, "组织类型"), ("组织信息", 2, "统一社会信用代码"), ("组织信息", 2, "联系电话"),
            ("组织信息", 2, "人数"), ("组织信息", 2, "网格编码")], found
        assert "第 2 行" in body["errors"][1]["message"] and all(e["message"] and e["detail"] for e in body["errors"])
    assert people_count(svc) == 0
    missing = problem(upload(client, town, "房屋.csv", csv_bytes([["x", G1]], header=["房屋地址", "网格编码"])), 422)
    assert "房屋用途" in missing["errors"][0]["message"]


def test_export_has_one_sheet_per_kind_in_the_import_layout(client, login):
    town = login("town")
    assert upload(client, town, "普查.xlsx", full_census()).status_code == 200
    answer = client.get(f"/api/v1/census/export?grid={G1}", headers=town)
    workbook = load_workbook(io.BytesIO(answer.data))
    assert workbook.sheetnames == ["人口信息", "房屋信息", "土地信息", "事件信息", "物品设施", "组织信息"]
    houses = [list(r) for r in workbook["房屋信息"].iter_rows(values_only=True)]
    assert houses[0] == ["房屋地址", "网格编码", "房屋用途", "产权人", "产权人身份证号", "产权人电话", "建筑面积", "房屋结构",
                         "安全隐患", "备注"]
    assert houses[1] == ["杨家湾村3组12号", G1, "自住", "张三", id_no(1)[:4] + "*" * 10 + id_no(1)[-4:], "138****1111",
                         120.5, "砖混", "否", None]
    assert id_no(1) not in str(houses) and "13800001111" not in str(houses)
    orgs = [list(r) for r in workbook["组织信息"].iter_rows(values_only=True)]
    assert orgs[2][:4] == ["麻城某建材有限公司", G1, "企业", "91421181MA4F12345X"]

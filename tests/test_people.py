"""Organisation and user administration: units, users, scoping, the admin audit, and CSV/XLSX import."""
from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select, text

from api.core.models import OrgUnit, User
from cunliao.cli import main as cli
from engine.db import make_engine
from engine.models import Base

from .conftest import DEMO_PASSWORD, deploy

PROBLEM = "application/problem+json"
PEOPLE_TABLES = ("org_units", "users", "user_roles")


@pytest.fixture(autouse=True)
def restore_people(db_url):
    """On PostgreSQL the conftest keeps the organisation tables between tests (SQLite gets a fresh
    copy per test): put units, users and roles back as they were, so these tests leave no trace."""
    if not db_url.startswith("postgresql"):
        yield
        return
    engine = make_engine(db_url)
    with engine.connect() as conn:
        saved = {t: [dict(r._mapping) for r in conn.execute(select(Base.metadata.tables[t]))] for t in PEOPLE_TABLES}
    yield
    units, users, links = (Base.metadata.tables[t] for t in PEOPLE_TABLES)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM api_tokens"))
        conn.execute(links.delete())
        conn.execute(users.delete().where(users.c.id.not_in([u["id"] for u in saved["users"]])))
        for row in saved["users"]:
            conn.execute(users.update().where(users.c.id == row["id"]).values(**row))
        conn.execute(units.delete().where(units.c.id.not_in([u["id"] for u in saved["org_units"]])))
        for row in saved["org_units"]:  # two passes: a moved subtree may hold another's old path
            conn.execute(units.update().where(units.c.id == row["id"]).values(path=f"#{row['id']}"))
        for row in saved["org_units"]:
            conn.execute(units.update().where(units.c.id == row["id"]).values(**row))
        conn.execute(links.insert(), saved["user_roles"])
    engine.dispose()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["detail"] and body["message"]
    return body


def bearer(client, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def town_admin(client, admin):
    """An admin of 宋埠镇 only."""
    response = client.post("/api/v1/admin/users", headers=admin, json={
        "username": "songbu-admin", "display_name": "宋埠镇管理员", "unit_code": "songbu", "roles": ["admin"],
        "password": "Songbu2026pass", "must_change_password": False})
    assert response.status_code == 201, response.get_json()
    return bearer(client, "songbu-admin", "Songbu2026pass")


def unit_id(client, headers, code: str) -> int:
    return next(u["id"] for u in client.get("/api/v1/admin/units", headers=headers).get_json() if u["code"] == code)


def user_id(svc, username: str) -> int:
    with svc.db.read() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


# --- units ---------------------------------------------------------------------------------------

def test_units_crud_with_audit(client, admin):
    units = client.get("/api/v1/admin/units", headers=admin).get_json()
    assert len(units) == 24 and units[0]["path"] == "/macheng/"
    assert [u["path"] for u in units] == sorted(u["path"] for u in units)
    assert {u["code"] for u in client.get("/api/v1/admin/units?kind=乡镇", headers=admin).get_json()} == {
        "songbu", "guishan"}

    songbu = unit_id(client, admin, "songbu")
    village = client.post("/api/v1/admin/units", headers=admin,
                          json={"code": "songbu-dongshan", "name": "东山村", "kind": "村", "parent_id": songbu})
    assert village.status_code == 201, village.get_json()
    village = village.get_json()
    assert village["path"] == "/macheng/songbu/songbu-dongshan/" and village["kind"] == "village"
    grid = client.post("/api/v1/admin/units", headers=admin, json={
        "code": "songbu-dongshan-g1", "name": "东山村第一网格", "kind": "grid", "parent_code": "songbu-dongshan"})
    assert grid.status_code == 201 and grid.get_json()["path"] == "/macheng/songbu/songbu-dongshan/songbu-dongshan-g1/"

    renamed = client.patch(f"/api/v1/admin/units/{village['id']}", headers=admin, json={"name": "东山社区"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "东山社区"
    assert client.get(f"/api/v1/admin/units/{village['id']}", headers=admin).get_json()["name"] == "东山社区"
    assert client.delete(f"/api/v1/admin/units/{grid.get_json()['id']}", headers=admin).status_code == 204
    problem(client.get(f"/api/v1/admin/units/{grid.get_json()['id']}", headers=admin), 404)

    audit = client.get("/api/v1/admin/audit?target_type=unit", headers=admin).get_json()
    assert [e["action"] for e in audit["items"]] == ["unit.delete", "unit.update", "unit.create", "unit.create"]
    update = audit["items"][1]
    assert update["actor"] == "admin" and update["before"]["name"] == "东山村" and update["after"]["name"] == "东山社区"
    assert audit["items"][0]["before"]["code"] == "songbu-dongshan-g1" and audit["items"][0]["after"] is None


def test_unit_errors_are_problems(client, admin, login):
    problem(client.get("/api/v1/admin/units", headers=login("town")), 403)
    songbu = unit_id(client, admin, "songbu")
    post = lambda body: client.post("/api/v1/admin/units", headers=admin, json=body)  # noqa: E731
    assert set(problem(post({"name": "x"}), 422)["errors"]) == {"code", "kind"}
    assert "kind" in problem(post({"code": "x1", "name": "x", "kind": "省", "parent_id": songbu}), 422)["errors"]
    wrong_level = problem(post({"code": "x1", "name": "x", "kind": "grid", "parent_id": songbu}), 422)
    assert "网格" in wrong_level["errors"]["kind"]
    assert "code" in problem(post({"code": "坏 编码", "name": "x", "kind": "village", "parent_id": songbu}), 422)["errors"]
    assert "parent_code" in problem(post({"code": "x1", "name": "x", "kind": "village", "parent_code": "nope"}),
                                    422)["errors"]
    assert "parent_id" in problem(post({"code": "x1", "name": "x", "kind": "city"}), 422)["errors"]
    problem(post({"code": "songbu-xindian", "name": "x", "kind": "village", "parent_id": songbu}), 409)
    problem(client.get("/api/v1/admin/units/99999", headers=admin), 404)
    problem(client.patch("/api/v1/admin/units/99999", headers=admin, json={"name": "x"}), 404)
    problem(client.delete(f"/api/v1/admin/units/{songbu}", headers=admin), 409)  # has children
    problem(client.delete(f"/api/v1/admin/units/{unit_id(client, admin, 'songbu-yangjiawan-g1')}", headers=admin),
            409)  # has a user (grid)
    problem(client.delete(f"/api/v1/admin/units/{unit_id(client, admin, 'macheng')}", headers=admin), 403)
    village = unit_id(client, admin, "songbu-xindian")
    problem(client.patch(f"/api/v1/admin/units/{village}", headers=admin, json={"kind": "grid"}), 422)
    problem(client.patch(f"/api/v1/admin/units/{village}", headers=admin,
                         json={"parent_code": "songbu-xindian-g1"}), 409)  # under its own grid
    problem(client.patch(f"/api/v1/admin/units/{songbu}", headers=admin, json={"kind": "department"}), 409)
    assert problem(client.patch(f"/api/v1/admin/units/{village}", headers=admin, json={"name": ""}), 422)["errors"]


def test_moving_a_unit_rewrites_the_paths_below_it_unless_cases_lie_there(client, admin, svc):
    xindian = unit_id(client, admin, "songbu-xindian")
    moved = client.patch(f"/api/v1/admin/units/{xindian}", headers=admin, json={"parent_code": "guishan"})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["path"] == "/macheng/guishan/songbu-xindian/"
    with svc.db.read() as session:
        grids = session.scalars(select(OrgUnit.path).where(OrgUnit.code.like("songbu-xindian-%"))).all()
    assert sorted(grids) == ["/macheng/guishan/songbu-xindian/songbu-xindian-g1/",
                             "/macheng/guishan/songbu-xindian/songbu-xindian-g2/"]
    audit = client.get("/api/v1/admin/audit?action=unit.move", headers=admin).get_json()["items"][0]
    assert audit["before"]["path"] == "/macheng/songbu/songbu-xindian/"

    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    svc.cases.start("t_simple", {}, "grid", "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g2/", "")
    yangjiawan = unit_id(client, admin, "songbu-yangjiawan")
    body = problem(client.patch(f"/api/v1/admin/units/{yangjiawan}", headers=admin, json={"parent_code": "guishan"}),
                   409)
    assert "案件" in body["message"]
    problem(client.delete(f"/api/v1/admin/units/{unit_id(client, admin, 'songbu-yangjiawan-g2')}", headers=admin), 409)


def test_a_town_admin_sees_and_changes_only_the_town(client, admin, town_admin, svc):
    units = client.get("/api/v1/admin/units", headers=town_admin).get_json()
    assert units and all(u["path"].startswith("/macheng/songbu/") for u in units)
    guishan = unit_id(client, admin, "guishan")
    for response in (client.get(f"/api/v1/admin/units/{guishan}", headers=town_admin),
                     client.patch(f"/api/v1/admin/units/{guishan}", headers=town_admin, json={"name": "x"}),
                     client.delete(f"/api/v1/admin/units/{guishan}", headers=town_admin)):
        problem(response, 404)
    problem(client.post("/api/v1/admin/units", headers=town_admin,
                        json={"code": "gs-new", "name": "新村", "kind": "village", "parent_code": "guishan"}), 422)
    problem(client.patch(f"/api/v1/admin/units/{unit_id(client, admin, 'songbu-xindian')}", headers=town_admin,
                         json={"parent_code": "guishan"}), 422)
    problem(client.patch(f"/api/v1/admin/units/{unit_id(client, admin, 'songbu')}", headers=town_admin,
                         json={"kind": "village"}), 403)

    users = client.get("/api/v1/admin/users", headers=town_admin).get_json()
    assert {u["username"] for u in users["items"]} == {"grid", "grid2", "mediator", "secretary", "town", "director",
                                                       "justice", "police", "songbu-admin", "grid_xd", "grid_xd2",
                                                       "mediator_xd", "secretary_xd", "louzhang", "louzhang2",
                                                       "louzhang_xd", "louzhang_xd2"}
    city = user_id(svc, "city")
    for response in (client.get(f"/api/v1/admin/users/{city}", headers=town_admin),
                     client.patch(f"/api/v1/admin/users/{city}", headers=town_admin, json={"active": False}),
                     client.delete(f"/api/v1/admin/users/{city}", headers=town_admin),
                     client.post(f"/api/v1/admin/users/{city}/password", headers=town_admin, json={}),
                     client.get(f"/api/v1/auth/tokens?user_id={city}", headers=town_admin)):
        problem(response, 404)
    problem(client.post("/api/v1/admin/users", headers=town_admin, json={
        "username": "gs1", "display_name": "x", "unit_code": "guishan", "roles": ["grid_worker"]}), 422)
    problem(client.patch(f"/api/v1/admin/users/{user_id(svc, 'grid')}", headers=town_admin,
                         json={"unit_code": "guishan-guifeng"}), 422)
    # The city admin created the town admin: that entry lies in the town and is visible to it; city ones are not.
    client.patch(f"/api/v1/admin/users/{user_id(svc, 'dept')}", headers=admin, json={"display_name": "改名"})
    paths = {e["target_path"] for e in client.get("/api/v1/admin/audit", headers=town_admin).get_json()["items"]}
    assert paths == {"/macheng/songbu/"}


# --- users ---------------------------------------------------------------------------------------

def test_users_crud_and_password_reset(client, admin, svc):
    created = client.post("/api/v1/admin/users", headers=admin, json={
        "username": "wang.tiaojie", "display_name": "王调解", "unit_code": "songbu-xindian",
        "roles": ["村调解员", "village_secretary"]})
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    assert user["roles"] == ["village_mediator", "village_secretary"] and user["must_change_password"] is True
    assert user["unit_path"] == "/macheng/songbu/songbu-xindian/" and len(user["temporary_password"]) >= 8
    headers = bearer(client, "wang.tiaojie", user["temporary_password"])
    assert problem(client.get("/api/v1/cases", headers=headers), 403)["code"] == "must_change_password"

    listing = client.get("/api/v1/admin/users?q=wang&active=true", headers=admin).get_json()
    assert listing["total"] == 1 and listing["items"][0]["username"] == "wang.tiaojie"
    # the demo's four village mediators and the new one
    assert client.get("/api/v1/admin/users?role=村调解员", headers=admin).get_json()["total"] == 5
    got = client.get(f"/api/v1/admin/users/{user['id']}", headers=admin).get_json()
    assert "temporary_password" not in got and "password_hash" not in got

    changed = client.patch(f"/api/v1/admin/users/{user['id']}", headers=admin,
                           json={"roles": ["网格员"], "unit_code": "songbu-xindian-g1", "display_name": "王网格"})
    assert changed.status_code == 200
    assert (changed.get_json()["roles"], changed.get_json()["unit_code"]) == (["grid_worker"], "songbu-xindian-g1")

    reset = client.post(f"/api/v1/admin/users/{user['id']}/password", headers=admin, json={"password": "Newpass2026"})
    assert reset.status_code == 200 and reset.get_json() == {}
    problem(client.post("/api/v1/auth/password", headers=headers, json={"old": "x", "new": "y"}), 401)  # revoked
    fresh = bearer(client, "wang.tiaojie", "Newpass2026")
    generated = client.post(f"/api/v1/admin/users/{user['id']}/password", headers=admin, json={}).get_json()
    assert len(generated["temporary_password"]) >= 8
    problem(client.get("/api/v1/auth/tokens", headers=fresh), 401)

    assert client.delete(f"/api/v1/admin/users/{user['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/admin/users/{user['id']}", headers=admin).get_json()["active"] is False
    problem(client.post("/api/v1/auth/token", json={"username": "wang.tiaojie",
                                                    "password": generated["temporary_password"]}), 401)
    audit = client.get("/api/v1/admin/audit?target_type=user", headers=admin).get_json()["items"]
    actions = [e["action"] for e in audit]
    assert actions == ["user.deactivate", "user.reset_password", "user.reset_password", "user.update", "user.create"]
    for entry in client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]:
        assert "password_hash" not in str(entry) and "Newpass2026" not in str(entry)


def test_user_errors_are_problems(client, admin, login, svc):
    post = lambda body: client.post("/api/v1/admin/users", headers=admin, json=body)  # noqa: E731
    base = {"username": "u1", "display_name": "甲", "unit_code": "songbu", "roles": ["town_officer"]}
    problem(client.get("/api/v1/admin/users", headers=login("city")), 403)
    assert set(problem(post({}), 422)["errors"]) == {"username", "display_name"}
    assert "roles" in problem(post({**base, "roles": ["镇长"]}), 422)["errors"]
    assert "username" in problem(post({**base, "username": "张 三"}), 422)["errors"]
    assert "password" in problem(post({**base, "password": "short"}), 422)["errors"]
    assert "password" in problem(post({**base, "password": "u1-longpass-2026"}), 422)["errors"]  # has the username
    assert "unit_code" in problem(post({**base, "unit_code": "nope"}), 422)["errors"]
    assert "unit_id" in problem(post({k: v for k, v in base.items() if k != "unit_code"}), 422)["errors"]
    problem(post({**base, "username": "grid"}), 409)
    me = user_id(svc, "admin")
    problem(client.patch(f"/api/v1/admin/users/{me}", headers=admin, json={"active": False}), 409)
    problem(client.patch(f"/api/v1/admin/users/{me}", headers=admin, json={"roles": ["auditor"]}), 409)
    problem(client.delete(f"/api/v1/admin/users/{me}", headers=admin), 409)
    problem(client.get("/api/v1/admin/users/99999", headers=admin), 404)
    problem(client.get("/api/v1/admin/users?page=0", headers=admin), 422)


def test_deactivating_a_user_signs_them_out(client, admin, login, svc):
    grid = login("grid")
    response = client.patch(f"/api/v1/admin/users/{user_id(svc, 'grid')}", headers=admin, json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    problem(client.get("/api/v1/cases", headers=grid), 401)


def test_role_catalogue(client, admin):
    roles = client.get("/api/v1/admin/roles", headers=admin).get_json()
    assert {"code": "grid_worker", "zh": "网格员", "en": "Grid worker", "level": "grid"} in roles


# --- import --------------------------------------------------------------------------------------

UNIT_ROWS = [
    ["单位编码", "单位名称", "类型", "上级编码", "备注"],
    ["songbu-hexi-g1", "河西村第一网格", "网格", "songbu-hexi", ""],  # its parent comes later: order is free
    ["songbu-hexi", "河西村", "村", "songbu", "新建"],
    ["songbu-xindian", "新店村", "村", "songbu", "已有，不变"],
    ["songbu-minzheng", "宋埠镇民政办", "职能部门", "songbu", ""],
]
USER_ROWS = [
    ["用户名", "姓名", "单位编码", "角色（多个用;分隔）", "启用", "初始密码"],
    ["hexi.grid", "河西网格员", "songbu-hexi-g1", "网格员", "是", ""],
    ["hexi.mediator", "河西调解员", "songbu-hexi", "村调解员;village_secretary", "", "Hexi2026pass"],
    ["mediator", "村调解员 王调解", "songbu-yangjiawan", "village_mediator", "是", ""],
]
BAD_UNIT_ROWS = [
    ["单位编码", "单位名称", "类型", "上级编码"],
    ["ok-village", "好村", "村", "songbu"],
    ["bad code", "坏编码", "村", "songbu"],           # row 3: code
    ["x-grid", "网格", "网格", "songbu"],             # row 4: a grid under a town
    ["x-orphan", "孤儿村", "村", "nowhere"],           # row 5: unknown parent
    ["ok-village", "重复", "村", "songbu"],           # row 6: duplicate
    ["x-kind", "怪单位", "省", "songbu"],              # row 7: kind
    ["songbu-xindian", "新店村", "村", "guishan"],     # row 8: would move a unit
]
BAD_USER_ROWS = [
    ["用户名", "姓名", "单位编码", "角色"],
    ["good.user", "好人", "songbu", "town_officer"],
    ["bad.role", "甲", "songbu", "镇长"],                  # row 3
    ["no.unit", "乙", "nowhere", "grid_worker"],          # row 4
    ["", "丙", "songbu", "grid_worker"],                  # row 5
    ["good.user", "丁", "songbu", "town_officer"],        # row 6: duplicate
    ["no.roles", "戊", "songbu", ""],                     # row 7
]


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(**sheets) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheet = workbook.create_sheet("说明")
    sheet.append(["本工作簿：单位表与用户表"])
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_files(client, headers, files: dict[str, bytes], dry_run: bool = False):
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.post(f"/api/v1/admin/import?dry_run={'true' if dry_run else 'false'}", headers=headers,
                       data=data, content_type="multipart/form-data")


def people_snapshot(svc):
    with svc.db.read() as session:
        return (sorted(session.scalars(select(OrgUnit.code))), sorted(session.scalars(select(User.username))))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_good_files(client, admin, svc, fmt):
    if fmt == "csv":
        files = {"units.csv": csv_bytes(UNIT_ROWS), "users.csv": csv_bytes(USER_ROWS)}
    else:
        files = {"people.xlsx": xlsx_bytes(单位=UNIT_ROWS, 用户=USER_ROWS)}
    before = people_snapshot(svc)
    dry = import_files(client, admin, files, dry_run=True)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json() == {"dry_run": True, "units": {"created": 3, "updated": 0, "unchanged": 1},
                              "users": {"created": 2, "updated": 0, "unchanged": 1}, "passwords": []}
    assert people_snapshot(svc) == before

    done = import_files(client, admin, files)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["units"] == {"created": 3, "updated": 0, "unchanged": 1}
    assert [p["username"] for p in body["passwords"]] == ["hexi.grid"]
    units = {u["code"]: u for u in client.get("/api/v1/admin/units", headers=admin).get_json()}
    assert units["songbu-hexi-g1"]["path"] == "/macheng/songbu/songbu-hexi/songbu-hexi-g1/"
    assert units["songbu-minzheng"]["kind"] == "department"
    users = {u["username"]: u for u in client.get("/api/v1/admin/users?q=hexi", headers=admin).get_json()["items"]}
    assert users["hexi.mediator"]["roles"] == ["village_mediator", "village_secretary"]
    assert users["hexi.grid"]["must_change_password"] is True
    bearer(client, "hexi.grid", body["passwords"][0]["temporary_password"])
    bearer(client, "hexi.mediator", "Hexi2026pass")
    actions = {e["action"] for e in client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]}
    assert {"import", "unit.create", "user.create"} <= actions

    again = import_files(client, admin, files).get_json()
    assert again["units"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert again["users"] == {"created": 0, "updated": 0, "unchanged": 3} and again["passwords"] == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_import_lists_every_bad_row_and_imports_nothing(client, admin, svc, fmt, dry_run):
    if fmt == "csv":
        files = {"units.csv": csv_bytes(BAD_UNIT_ROWS), "users.csv": csv_bytes(BAD_USER_ROWS)}
    else:
        files = {"people.xlsx": xlsx_bytes(单位=BAD_UNIT_ROWS, 用户=BAD_USER_ROWS)}
    before = people_snapshot(svc)
    body = problem(import_files(client, admin, files, dry_run=dry_run), 422)
    assert "未导入任何数据" in body["message"]
    rows = {(e["sheet"] or e["file"].split(".")[0], e["row"]): e for e in body["errors"]}
    units, users = ("单位", "用户") if fmt == "xlsx" else ("units", "users")
    assert set(rows) == {(units, r) for r in (3, 4, 5, 6, 7, 8)} | {(users, r) for r in (3, 4, 5, 6, 7)}
    assert rows[(units, 3)]["column"] == "单位编码" and rows[(units, 5)]["column"] == "上级编码"
    assert "nowhere" in rows[(units, 5)]["message"] and "重复" in rows[(units, 6)]["message"]
    assert "镇长" in rows[(users, 3)]["message"] and rows[(users, 3)]["detail"] == "unknown roles: 镇长"
    assert people_snapshot(svc) == before


def test_import_file_problems(client, admin, town_admin):
    assert problem(import_files(client, admin, {"x.txt": b"hello"}), 422)["errors"][0]["file"] == "x.txt"
    problem(import_files(client, admin, {"x.xlsx": b"PK not really a zip"}), 422)
    header = problem(import_files(client, admin, {"x.csv": csv_bytes([["甲", "乙"], ["1", "2"]])}), 422)
    assert header["errors"][0]["row"] == 1
    missing = problem(import_files(client, admin, {"x.csv": csv_bytes([["单位编码", "单位名称"], ["a", "b"]])}), 422)
    assert "类型" in missing["errors"][0]["message"]
    problem(client.post("/api/v1/admin/import", headers=admin, data={}, content_type="multipart/form-data"), 400)
    # A town admin cannot import into another town.
    outside = csv_bytes([["单位编码", "单位名称", "类型", "上级编码"], ["gs-new", "新村", "村", "guishan"]])
    assert problem(import_files(client, town_admin, {"u.csv": outside}), 422)["errors"][0]["row"] == 2
    # Excel on Chinese Windows writes GBK.
    gbk = csv_bytes([["单位编码", "单位名称", "类型", "上级编码"], ["sb-gbk", "国标村", "村", "songbu"]], "gb18030")
    assert import_files(client, town_admin, {"u.csv": gbk}, dry_run=True).get_json()["units"]["created"] == 1


def test_cli_import_org(tmp_path, db_url, svc):
    good, bad = tmp_path / "units.xlsx", tmp_path / "bad.csv"
    good.write_bytes(xlsx_bytes(单位=UNIT_ROWS, 用户=USER_ROWS))
    bad.write_bytes(csv_bytes(BAD_UNIT_ROWS))
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    failed = runner.invoke(cli, ["import-org", str(bad), "--dry-run"], env=env)
    assert failed.exit_code == 1 and "第3行" in failed.output and "unknown parent code nowhere" in failed.output
    dry = runner.invoke(cli, ["import-org", str(good), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "units: 3 new" in dry.output
    assert "songbu-hexi" not in people_snapshot(svc)[0]
    done = runner.invoke(cli, ["import-org", str(good), "--by", "ops"], env=env)
    assert done.exit_code == 0, done.output
    assert "temporary password for hexi.grid" in done.output and "songbu-hexi" in people_snapshot(svc)[0]

"""The administrators' user screen: list the users of the area, create one (with a field error first),
reset a password, deactivate and reactivate; other roles are kept out."""
from __future__ import annotations

import uuid

import requests
from playwright.sync_api import expect

from .conftest import api_token, sign_in


def test_admin_creates_resets_and_deactivates_a_user(ui):
    sign_in(ui, "admin", next_path="/admin/users")
    expect(ui.locator(".mainnav")).to_contain_text("用户管理")
    expect(ui.locator('#user-rows tr[data-username="grid"]')).to_contain_text("网格员")

    username = f"ui-{uuid.uuid4().hex[:8]}"
    ui.get_by_role("button", name="新建用户").click()
    ui.get_by_label("用户名", exact=True).fill(username)
    ui.get_by_label("姓名", exact=True).fill("测试 网格员")
    units = requests.get(f"{ui.base}/api/v1/admin/units", headers=api_token(ui.base, "admin"), timeout=30).json()
    [grid_unit] = [u for u in units if u["code"] == "songbu-yangjiawan-g1"]
    # the picker is a tree: the towns with their villages and grids first, the city's departments after
    names = [text.strip() for text in ui.get_by_label("所属单位").locator("option").all_inner_texts()]
    departments = [i for i, name in enumerate(names) if name.startswith("市民政局")]
    assert departments and departments[0] > max(names.index("宋埠镇"), names.index("龟山镇"), names.index("石桥村第二网格"))
    assert names[departments[0]] == "市民政局（职能部门）"
    ui.get_by_label("所属单位").select_option(value=str(grid_unit["id"]))
    ui.get_by_role("button", name="创建用户").click()
    expect(ui.locator('[data-error-for="roles"]')).to_have_text("请至少选择一个角色")  # checked before sending
    ui.get_by_role("checkbox", name="网格员").check()
    ui.get_by_role("button", name="创建用户").click()

    secret = ui.locator("#temporary-password")
    expect(secret).to_be_visible()
    first_password = secret.inner_text()
    row = ui.locator(f'#user-rows tr[data-username="{username}"]')
    expect(row).to_contain_text("第一网格")
    expect(row).to_contain_text("须修改密码")
    answer = requests.post(f"{ui.base}/api/v1/auth/token", json={"username": username, "password": first_password},
                           timeout=30)
    assert answer.status_code in (200, 403), answer.text  # the password works (403: must change it first)

    ui.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="重置密码").click()
    expect(secret).not_to_have_text(first_password)

    ui.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="停用").click()
    expect(row).to_contain_text("已停用")
    row.get_by_role("button", name="启用").click()
    expect(row).to_contain_text("在用")


def test_the_user_screen_is_for_admins_only(ui):
    sign_in(ui, "auditor", next_path="/audit")
    expect(ui.locator(".mainnav")).not_to_contain_text("用户管理")
    ui.goto(f"{ui.base}/admin/users")
    expect(ui.locator("h1")).to_have_text("无权访问")


def test_admin_edits_an_existing_users_roles_and_unit_and_it_is_audited(ui):
    admin = api_token(ui.base, "admin")
    username = f"ui-{uuid.uuid4().hex[:8]}"
    units = requests.get(f"{ui.base}/api/v1/admin/units", headers=admin, timeout=30).json()
    unit = {u["code"]: u for u in units}
    created = requests.post(f"{ui.base}/api/v1/admin/users", headers=admin, timeout=30, json={
        "username": username, "display_name": "待调整 人员", "unit_id": unit["songbu-yangjiawan-g1"]["id"],
        "roles": ["grid_worker"], "password": "Edit-me-2026"})
    assert created.status_code == 201, created.text
    sign_in(ui, "admin", next_path="/admin/users")
    ui.locator("#uf-q").fill(username)
    ui.locator("#uf-q").press("Enter")
    row = ui.locator(f'#user-rows tr[data-username="{username}"]')
    row.get_by_role("button", name="编辑").click()
    expect(ui.locator("#new-user-title")).to_have_text("编辑用户")
    expect(ui.get_by_label("用户名", exact=True)).to_be_disabled()
    ui.get_by_label("所属单位").select_option(value=str(unit["songbu-yangjiawan"]["id"]))
    ui.get_by_role("checkbox", name="网格员").uncheck()
    ui.get_by_role("checkbox", name="村书记").check()
    ui.get_by_role("button", name="保存修改").click()
    expect(row).to_contain_text("村书记")
    expect(row).not_to_contain_text("网格员")
    expect(row).not_to_contain_text("第一网格")
    audit = requests.get(f"{ui.base}/api/v1/admin/audit?target_type=user", headers=admin, timeout=30).json()["items"]
    [change] = [a for a in audit if a["action"] == "user.update" and a["after"]["username"] == username]
    assert change["before"]["roles"] == ["grid_worker"] and change["after"]["roles"] == ["village_secretary"]
    assert change["after"]["unit_path"] == "/macheng/songbu/songbu-yangjiawan/"

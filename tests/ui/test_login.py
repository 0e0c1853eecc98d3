"""Signing in and out, the page frame, language switch and page permissions."""
from __future__ import annotations

from playwright.sync_api import expect

from .conftest import sign_in


def test_sign_in_shows_who_and_where(ui):
    sign_in(ui, "grid")
    who = ui.locator("#who")
    expect(who).to_contain_text("网格员")
    expect(who).to_contain_text("第一网格")
    expect(ui.locator(".mainnav")).to_contain_text("待办")
    expect(ui.locator(".mainnav")).not_to_contain_text("流程设计")


def test_wrong_password_is_explained(ui):
    ui.goto(f"{ui.base}/login")
    ui.locator("#username").fill("grid")
    ui.locator("#password").fill("not-the-password1")
    ui.get_by_role("button", name="登录").click()
    expect(ui.locator("#login-error")).to_have_text("用户名或密码错误")


def test_pages_need_sign_in_and_the_right_role(ui):
    ui.goto(f"{ui.base}/inbox")
    expect(ui).to_have_url(f"{ui.base}/login?next=/inbox?")
    sign_in(ui, "grid")
    ui.goto(f"{ui.base}/designer")
    expect(ui.locator("h1")).to_have_text("无权访问")


def test_english_is_one_click_away_and_sign_out_works(ui):
    sign_in(ui, "mediator")
    ui.get_by_role("link", name="English").click()
    expect(ui.locator(".mainnav")).to_contain_text("Inbox")
    ui.get_by_role("link", name="中文").click()
    expect(ui.locator(".mainnav")).to_contain_text("待办")
    ui.get_by_role("button", name="退出").click()
    expect(ui).to_have_url(f"{ui.base}/login")


def test_no_dead_end_for_a_designer(ui):
    """Signed in without a target, and from the 无权访问 page's link back: a page the designer may open."""
    sign_in(ui, "designer", next_path="/")
    ui.wait_for_url(f"{ui.base}/designer")
    ui.goto(f"{ui.base}/inbox")
    expect(ui.locator("h1")).to_have_text("无权访问")
    ui.get_by_role("link", name="返回首页").click()
    expect(ui).to_have_url(f"{ui.base}/designer")
    ui.locator(".brand").click()
    expect(ui).to_have_url(f"{ui.base}/designer")

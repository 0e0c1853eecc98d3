"""Each role's working day on the demo month (`make run`'s data: `seed-demo --month`), in one
browser: the grid worker on a phone, the others on a laptop. Every step fails the walk on a console
error or warning, a request answering 4xx/5xx that the walk did not provoke, English words on a
page in Chinese, a link to a page its reader may not open, or a diagram whose current step is
smaller than 40 px on screen; each step leaves a screenshot in test-artifacts/ui/walk/.

The module has its own server and database, seeded once (about a minute)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from .conftest import ARTIFACTS, DEMO_PASSWORD, ROOT, serve, ui_database

SHOTS = ARTIFACTS / "walk"
GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
MINZHENG = "/macheng/minzheng/"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
MIN_SIZE = 40  # px: a current step smaller than this cannot be read
# Latin words a Chinese page may show: the language switch, file kinds, product names.
ALLOWED_LATIN = {"English", "Excel", "PDF", "BPMN", "DMN", "JSON", "bpmn", "io", "ID", "MC", "Typst", "QR", "CSV",
                 "XLSX", "xlsx", "csv", "Schema", "XML", "Home", "End", "jpg", "jpeg", "png", "pdf", "mp3", "m4a",
                 "wav", "amr"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
HEX = re.compile(r"\b[0-9a-f]*[0-9][0-9a-f]*\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`make run` on a database of its own: the demo organisation and the demo month."""
    with ui_database(tmp_path_factory, "walk") as url, serve(tmp_path_factory, url, "--month") as base:
        yield {"base": base, "url": url}


def query(demo, sql: str, **params) -> list:
    engine = create_engine(demo["url"].replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def logins(demo) -> list:
    """(role, username, unit path) of every demo login (the demo grows logins; the walk takes what there is)."""
    return query(demo, "SELECT r.role_code, u.username, o.path FROM user_roles r JOIN users u ON u.id = r.user_id "
                       "JOIN org_units o ON o.id = u.unit_id WHERE u.active ORDER BY u.id")


def open_task(demo, person, element_id: str, under: str) -> None:
    """Open the demo month's ready ``element_id`` task in the unit ``under`` (a path prefix)."""
    rows = query(demo, "SELECT id FROM case_tasks WHERE state = 'ready' AND element_id = :e AND jurisdiction LIKE :p "
                       "ORDER BY created_at", e=element_id, p=f"{under}%")
    assert rows, f"the demo month has no ready {element_id} under {under}"
    person.visit(f"/tasks/{rows[0][0]}", element_id)


def finish(person, next_heading: str | None = None) -> None:
    """完成, then the next step of the same person's (or the completed task with no form left)."""
    person.page.get_by_role("button", name="完成").click()
    if next_heading:
        expect(person.page.get_by_role("heading", name=next_heading, exact=True)).to_be_visible()
    else:
        expect(person.page.locator("#task-head")).to_contain_text("已完成")
    person.settle("completed")


class Walk:
    """One person's day in a fresh browser context: guarded steps, each with a screenshot."""

    def __init__(self, browser: Browser, base: str, name: str, viewport: dict):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           accept_downloads=True)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.base, self.name, self.step_no = base, name, 0
        self.problems: list[str] = []
        self.checked_links: set[str] = set()
        self.page.route("**/*", self._offline)
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))
        self.page.on("console", lambda msg: msg.type in ("error", "warning") and self.problems.append(
            f"console {msg.type}: {msg.text} ({self.page.url})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"{r.status} {r.request.method} {r.url}"))

    def _offline(self, route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.problems.append(f"request off this host: {route.request.url}")
            route.abort()

    def sign_in(self, username: str, home: str) -> None:
        """Sign in without a target: the start page must send the user to their own home."""
        self.page.goto(f"{self.base}/login")
        self.page.locator("#username").fill(username)
        self.page.locator("#password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(lambda url: urlparse(url).path == home)
        self.settle("home")

    def visit(self, path: str, label: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.settle(label)

    def open_first(self, selector: str, label: str) -> str | None:
        """Follow the first link matching ``selector``, if the page has one; returns its path."""
        links = self.page.locator(selector)
        if links.count() == 0:
            return None
        href = links.first.get_attribute("href")
        links.first.click()
        self.page.wait_for_url(lambda url: urlparse(url).path == urlparse(href).path)
        self.settle(label)
        return href

    def settle(self, label: str) -> None:
        """Wait for the page's requests to end, check what it shows, keep a screenshot."""
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("() => !document.querySelector('[aria-busy=true]')")
        self.step_no += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{self.step_no:02d}-{label}.png"), full_page=True)
        self.chinese_only(label)
        self.diagrams_readable(label)
        self.links_open(label)

    def chinese_only(self, label: str) -> None:
        # identifiers a page shows as such (keys, usernames, hashes, in <code>) are not English words
        shown = self.page.evaluate("""() => {
            const skip = 'script, style, code, kbd, samp, .hash, [translate=no], [lang=en]';
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const shown = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const parent = node.parentElement;
                if (parent && !parent.closest(skip) && parent.checkVisibility()) shown.push(node.textContent);
            }
            return shown.join(' '); }""")
        shown = HEX.sub(" ", shown)  # hashes shortened in a sentence (e9bf502b64…f6bda2)
        english = sorted({w for w in LATIN_WORD.findall(shown) if w not in ALLOWED_LATIN})
        if english:
            self.problems.append(f"English on {label} ({self.page.url}): {english[:12]}")

    def diagrams_readable(self, label: str) -> None:
        for box in self.page.locator(".djs-container .djs-element.is-active .djs-visual").all():
            if not box.is_visible():
                continue
            size = box.bounding_box()
            if size and (size["width"] < MIN_SIZE or size["height"] < MIN_SIZE):
                self.problems.append(f"current step drawn at {size['width']:.0f}×{size['height']:.0f} px on {label}")

    def links_open(self, label: str) -> None:
        """Every link on the page to a page of this site opens for this reader (no 403 page)."""
        hrefs = self.page.eval_on_selector_all("a[href^='/']", "links => links.map((a) => a.getAttribute('href'))")
        for href in hrefs:
            path = href.split("#")[0]
            if not path or path.startswith(("/lang/", "/api/", "/ui/static/")) or path in self.checked_links:
                continue
            self.checked_links.add(path)
            answer = self.context.request.get(f"{self.base}{path}")
            if answer.status >= 400 or urlparse(answer.url).path == "/login":
                self.problems.append(f"link on {label} to {path} answers {answer.status}")

    def close(self) -> None:
        self.context.close()
        assert self.problems == [], f"{self.name}'s walk:\n" + "\n".join(self.problems)


@pytest.fixture
def walk(browser, demo):
    walks = []

    def start(name: str, viewport: dict = LAPTOP) -> Walk:
        walks.append(Walk(browser, demo["base"], name, viewport))
        return walks[-1]
    yield start
    for one in walks:
        one.close()


def work_on_first_task(person: Walk) -> None:
    """From the inbox to the first task on it, and its case."""
    if person.open_first("#inbox-list a[href^='/tasks/']", "task"):
        expect(person.page.locator("#task-diagram .djs-element.is-active").first).to_be_visible()
        person.settle("task-diagram")
        person.open_first("a[href^='/cases/']:not([href='/cases/new'])", "case")


def need(logins: list, role: str, covering: str | None = None) -> str:
    """The first demo login with ``role`` (whose unit is ``covering`` or above it, when given)."""
    for code, username, path in logins:
        if code == role and (covering is None or covering.startswith(path)):
            return username
    pytest.skip(f"the demo has no login with the role {role} over {covering or 'any unit'} yet")


def test_grid_worker_on_a_phone(walk, logins, demo):
    grid = walk("grid", PHONE)
    grid.sign_in(need(logins, "grid_worker", GRID), "/inbox")
    expect(grid.page.locator("#inbox-list a[href^='/tasks/']").first).to_be_visible()
    work_on_first_task(grid)
    open_task(demo, grid, "contact", GRID)  # 联系重点人员: the follow-up plan's visit
    page = grid.page
    page.get_by_role("group", name="联系方式").get_by_label("上门走访").check()
    page.get_by_role("group", name="是否联系上本人").get_by_label("是").check()
    page.get_by_label("近况和诉求").fill("在家务农，情绪平稳，无新的诉求。")
    page.get_by_role("group", name="风险变化").get_by_label("稳定").check()
    finish(grid)
    grid.visit("/census", "census")
    expect(grid.page.locator("main table tbody tr").first).to_be_visible()
    grid.visit("/prevention", "prevention")
    grid.visit("/community", "community")


@pytest.mark.parametrize("role", ["village_mediator", "town_officer", "town_director", "city_director"])
def test_staff_day(walk, logins, role):
    person = walk(role)
    person.sign_in(need(logins, role), "/inbox")
    if role != "city_director":  # the city centre has no step of its own in the demo month
        expect(person.page.locator("#inbox-list a[href^='/tasks/']").first).to_be_visible()
    work_on_first_task(person)
    person.visit("/cases", "cases")
    person.open_first("#case-rows a.case-no", "case-from-list")
    if role != "village_mediator":
        person.visit("/dashboard", "dashboard")
    person.visit("/census", "census")
    person.visit("/prevention", "prevention")
    person.visit("/community", "community")


def test_department_liaison_works_its_whistled_case(walk, logins, demo):
    dept = walk("department")
    dept.sign_in(need(logins, "department_liaison", MINZHENG), "/inbox")
    expect(dept.page.locator("#inbox-list a[href^='/tasks/']").first).to_be_visible()
    work_on_first_task(dept)
    open_task(demo, dept, "ack", MINZHENG)  # 签收应哨
    dept.page.get_by_role("group", name="签收意见").get_by_label("应哨").check()
    dept.page.get_by_label("联络人").fill("赵联络")
    finish(dept, "部门报到")


def test_mediator_accepts_a_case_for_the_village(walk, logins, demo):
    mediator = walk("village_mediator-accept")
    mediator.sign_in(need(logins, "village_mediator", VILLAGE), "/inbox")
    open_task(demo, mediator, "accept_village", VILLAGE)  # 村调委会签收
    mediator.page.get_by_role("group", name="签收").get_by_label("是").check()
    mediator.page.get_by_label("签收意见").fill("已签收，安排调解员。")
    finish(mediator, "受理并选定调解员")


def test_leader_lands_on_the_cases_in_their_charge(walk, logins):
    leader = walk("leader")
    leader.sign_in(need(logins, "leader"), "/cases/led")
    expect(leader.page.locator("h1")).to_have_text("我包的案件")
    expect(leader.page.locator("#case-rows tr").first).to_be_visible()
    leader.open_first("#case-rows a.case-no", "led-case")
    leader.visit("/inbox", "inbox")
    work_on_first_task(leader)
    leader.visit("/dashboard", "dashboard")


def test_designer_opens_a_process_and_a_form(walk, logins):
    designer = walk("designer")
    designer.sign_in(need(logins, "designer"), "/designer")
    designer.visit("/designer/dispute_intake", "modeler")
    expect(designer.page.locator("body[data-ready=true]")).to_be_attached()
    designer.settle("modeler-ready")
    designer.visit("/designer/forms/intake_register", "form-editor")
    expect(designer.page.locator("body[data-ready=true]")).to_be_attached()
    designer.settle("form-editor-ready")


def test_auditor_replays_a_case(walk, logins):
    auditor = walk("auditor")
    auditor.sign_in(need(logins, "auditor"), "/audit")
    assert auditor.open_first("a[href^='/audit/cases/']", "replay"), "the audit list shows no case"
    auditor.visit("/cases", "cases")
    auditor.open_first("#case-rows a.case-no", "case")


def test_admin_manages_users(walk, logins):
    admin = walk("admin")
    admin.sign_in(need(logins, "admin"), "/inbox")
    admin.visit("/admin/users", "users")
    expect(admin.page.locator("main table tbody tr").first).to_be_visible()


def test_the_demo_month_verifies(demo):
    """Every demo case's audit chain holds and its events replay to its stored state."""
    done = subprocess.run([sys.executable, "-m", "cunliao.cli", "audit", "verify", "--all"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": demo["url"]},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

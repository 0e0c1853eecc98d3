"""Browser tests: Playwright drives Debian's Chromium against `cunliao serve` (gunicorn + the timer
worker) on 127.0.0.1, on a database set up the way `make run` sets it up (init-db, deploy, seed-demo).

Every test fails on a JavaScript error, a console error or warning, or a request to any host but 127.0.0.1, and
leaves a screenshot in test-artifacts/ui/.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..conftest import DEMO_PASSWORD, PG_URL, integrity_errors

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
BUNDLE = ROOT / "web" / "static" / "dist"

pytestmark = pytest.mark.ui
expect.set_options(timeout=20_000)  # a loaded 2-core CI machine; a pass never waits this long


def pytest_collection_modifyitems(config, items):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise pytest.UsageError(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
        skip = pytest.mark.skip(reason="Debian's chromium is not installed (apt-get install chromium)")
        for item in items:
            if "tests/ui/" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright hook: Debian's chromium (never `playwright install`), no traffic off this host."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": [
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai", "accept_downloads": True}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def ui_database(tmp_path_factory, suffix: str = "ui") -> Iterator[str]:
    """Its own database: the server lives for the whole session, beside the per-test databases.
    On PostgreSQL it is dropped afterwards (each CI run names its databases anew: none may be left)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp(suffix) / f'{suffix}.db'}"
        return
    url = make_url(PG_URL)
    if url.drivername == "postgresql":  # the driver the app uses (psycopg 3), not SQLAlchemy's default
        url = url.set(drivername="postgresql+psycopg")
    name = f"{url.database}_{suffix}"
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url, *statements: str) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _cunliao(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "cunliao.cli", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def ui_database_url(tmp_path_factory) -> Iterator[str]:
    """The live server's database, for tests that seed through the services rather than the API."""
    with ui_database(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, ui_database_url):
    """`make run` in miniature: migrate, deploy workflows/, seed the demo, then `cunliao serve`."""
    with serve(tmp_path_factory, ui_database_url) as base:
        yield base


@contextmanager
def serve(tmp_path_factory, database_url: str, *seed_args: str):
    """Set the database up as `make run` does (``seed_args``: e.g. ``--month``), serve it, and stop
    the server afterwards; an IntegrityError in its log fails the test."""
    if not (BUNDLE / "login.js").exists():
        pytest.fail("the web bundle is not built: run `make test` (it builds web/static/dist) or `make web`")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DEMO_PASSWORD": DEMO_PASSWORD,
           "HOST": "127.0.0.1", "PORT": str(port), "SECRET_KEY": "ui-tests", "WORKER_POLL_SECONDS": "0.2",
           "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments"))}
    _cunliao(env, "init-db")
    _cunliao(env, "deploy", "workflows/bpmn", "workflows/forms", "workflows/documents")
    _cunliao(env, "seed-demo", *seed_args)
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "cunliao.cli", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the server did not start; see {log.name}")
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    logged = Path(log.name).read_text(encoding="utf-8", errors="replace").splitlines()
    assert not integrity_errors(logged), f"an IntegrityError was logged; see {log.name}"


@pytest.fixture
def ui(page: Page, live_server, request):
    """The page, guarded: fails the test on a JS error, a console error or warning (an SVG matrix that
    is not finite, an unhandled failure the page only logged) or a request off 127.0.0.1;
    saves a screenshot at the end whatever the outcome."""
    external, errors = [], []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: msg.type in ("error", "warning") and not _expected_console_error(msg.text)
            and errors.append(f"console {msg.type}: {msg.text}"))
    page.base = live_server
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except Exception as exc:  # a screenshot must not hide the test's own result
        print(f"screenshot failed: {exc}")
    assert external == [], f"requests to hosts other than 127.0.0.1: {external}"
    assert errors == [], f"JavaScript errors: {errors}"


def _expected_console_error(text: str) -> bool:
    """Chromium logs every 4xx answer as a console error; the UI shows those to the user on purpose
    (a form error is a 422). They are checked by the tests that cause them."""
    return "Failed to load resource: the server responded with a status of 4" in text


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD, next_path: str = "/inbox") -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{page.base}/login?next={next_path}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    wanted = next_path.split("?")[0]
    if wanted != "/":  # the start page sends each user on to their own first screen
        page.wait_for_url(lambda url: urlparse(url).path == wanted)


def api_token(base: str, username: str) -> dict[str, str]:
    """A bearer token, for seeding data through the API before the browser looks at it."""
    answer = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD},
                           timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}

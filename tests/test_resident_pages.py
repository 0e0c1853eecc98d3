"""The residents' server-rendered pages (解纷码) and the admin's QR posters, through the test client;
the browser walk is in tests/ui/test_resident.py."""
from __future__ import annotations

import io
import re

import pytest

from tests.test_process_mediation import library  # noqa: F401
from tests.test_resident import GRID_CODE, PNG, TEXT, Recorder  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")


@pytest.fixture
def sms(app):
    recorder = Recorder()
    recorder.demo = True  # the page then says where a demo code is shown
    app.extensions["cunliao_sms"] = recorder
    return recorder


def test_the_page_takes_a_code_then_a_report_and_shows_its_progress(client, library, sms):
    page = client.get(f"/r/{GRID_CODE}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "杨家湾村" in html and "<script" not in html and "控制台" in html
    sent = client.post(f"/r/{GRID_CODE}", data={"action": "code", "phone": "139 1234 5678", "description": TEXT})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "显示在服务器控制台" in html and TEXT in html  # kept as typed
    form = {"action": "submit", "phone": "13912345678", "code": sms.code_for("13912345678"), "unit_code": GRID_CODE,
            "category": "邻里", "description": TEXT, "consent": "1", "photos": [(io.BytesIO(PNG), "a.png")]}
    done = client.post(f"/r/{GRID_CODE}", data=form, content_type="multipart/form-data")
    assert done.status_code == 303 and "/r/t/" in done.headers["Location"]
    track = client.get(done.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="tracking-code">([A-Z2-7]{24})<', track)[1]
    assert "已收到" in track and "网格员" in track and "13912345678" not in track and code in done.headers["Location"]


def test_errors_are_shown_in_chinese_beside_their_fields(client, library, sms):
    answer = client.post(f"/r/{GRID_CODE}", data={"action": "submit", "phone": "13912345678", "code": "000000",
                                                  "category": "", "description": "<script>alert(1)</script>吵架了吵架了"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "请选择事情的类别" in html and "网页代码" in html
    assert "<script>alert(1)</script>" not in html  # shown escaped, as the resident typed it
    assert client.get("/r/nowhere").status_code == 404
    gone = client.get("/r/t/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert gone.status_code == 404 and "未找到该查询码" in gone.get_data(as_text=True)


def test_the_admin_prints_a_qr_poster_per_village_and_grid(client, login):
    client.post("/api/v1/auth/session", json={"username": "admin", "password": "test-password"})
    listing = client.get("/admin/resident-posters").get_data(as_text=True)
    assert "杨家湾村" in listing and f"/admin/resident-posters/{GRID_CODE}" in listing
    poster = client.get(f"/admin/resident-posters/{GRID_CODE}").get_data(as_text=True)
    assert "data:image/svg+xml" in poster and f"/r/{GRID_CODE}" in poster
    client.post("/api/v1/auth/session", json={"username": "grid", "password": "test-password"})
    assert client.get("/admin/resident-posters").status_code == 403

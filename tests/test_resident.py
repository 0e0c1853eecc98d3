"""The residents' own channel (解纷码): one-time codes, a report that becomes a case in the intake,
its tracking page, the resident's rating in the KPIs, and everything a resident may get wrong."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.resident.milestones import tell_milestones
from api.resident.models import ResidentCode, ResidentRating, ResidentReport
from engine.models import Attachment, Case, CaseTask
from tests.process_support import example
from tests.test_process_mediation import case_of, do, drive_foreign, library, ready_ids  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")

GRID_CODE, VILLAGE_CODE = "songbu-yangjiawan-g1", "songbu-yangjiawan"
GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
PHONE = "13912345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TEXT = "隔壁邻居把排水沟堵了，下雨天水流进我家院子，说了几次都不理。"


class Recorder:
    """An SMS gateway that keeps what it was asked to send."""

    demo = False

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def send(self, phone, kind, message, key):
        self.sent.append((phone, kind, message))
        return True

    def code_for(self, phone: str) -> str:
        return re.search(r"验证码是 (\d{6})", [m for p, k, m in self.sent if p == phone and k == "code"][-1])[1]


@pytest.fixture
def sms(app):
    recorder = Recorder()
    app.extensions["cunliao_sms"] = recorder
    return recorder


def get_code(client, sms, phone=PHONE):
    answer = client.post("/api/v1/resident/codes", json={"phone": phone})
    assert answer.status_code == 202, answer.get_json()
    return sms.code_for(phone)


def report(client, code, phone=PHONE, photos=(), **fields):
    data = {"phone": phone, "code": code, "unit_code": GRID_CODE, "category": "邻里", "description": TEXT,
            "consent": "1", **fields}
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post("/api/v1/resident/reports", data=data, content_type="multipart/form-data")


def count(svc, model) -> int:
    with svc.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_report_with_a_photo_starts_a_case_for_the_grid_worker(client, svc, library, sms, login):
    answer = report(client, get_code(client, sms), photos=[("x.png", PNG)])
    assert answer.status_code == 201, answer.get_json()
    tracking = answer.get_json()["tracking_code"]
    assert len(tracking) >= 24 and answer.get_json()["tracking_url"].endswith(f"/r/t/{tracking}")
    with svc.db.read() as session:
        case = session.scalars(select(Case)).one()
        photo = session.scalars(select(Attachment)).one()
        code_row = session.scalars(select(ResidentCode)).one()
    assert case.jurisdiction == GRID and case.process_key == "dispute_intake"
    assert case.data["channel"] == "resident" and case.data["intake_mode"] == "当事人申请"
    assert case.data["parties"][0]["phone"]["$pii"] == "phone"  # sealed like all case data
    assert (photo.case_id, photo.content_type, photo.size) == (case.id, "image/png", len(PNG))
    assert case.data["resident_photos"][0]["sha256"] == photo.sha256
    assert code_row.used_at is not None and code_row.code_hash != sms.code_for(PHONE)
    inbox = client.get("/api/v1/tasks", headers=login("grid")).get_json()
    assert [t["element_id"] for t in inbox if t["case_id"] == case.id] == ["register"]

    view = client.get(f"/api/v1/resident/track/{tracking}").get_json()
    assert view["stage"] == "received" and view["steps"][0]["role"] == "网格员"
    assert "杨家湾村" in view["steps"][0]["unit"] and not view["can_rate"]
    assert PHONE not in str(view) and "grid" not in str(view)


def test_the_same_report_twice_answers_with_the_first_tracking_code(client, svc, library, sms):
    first = report(client, get_code(client, sms)).get_json()
    again = report(client, sms.code_for(PHONE))  # a double submit with the same code
    assert again.status_code == 200 and again.get_json()["tracking_code"] == first["tracking_code"]
    svc.clock.advance(timedelta(minutes=2))
    later = report(client, get_code(client, sms), description="  " + TEXT + "\n")
    assert later.status_code == 200 and later.get_json()["tracking_code"] == first["tracking_code"]
    assert count(svc, Case) == 1


def test_tracking_follows_acceptance_and_closure_and_the_rating_lands_in_the_kpis(client, svc, clock, library, sms,
                                                                                  login):
    tracking = report(client, get_code(client, sms)).get_json()["tracking_code"]
    case_id = case_of_only(svc).id
    assert tell_milestones(svc, sms) == 1 and "已收到" in sms.sent[-1][2] and tracking in sms.sent[-1][2]
    do(svc, case_id, "register", channel="resident")
    view = client.get(f"/api/v1/resident/track/{tracking}").get_json()
    assert view["stage"] == "accepted" and view["accepted_at"]
    assert tell_milestones(svc, sms) == 1 and tell_milestones(svc, sms) == 0  # told once
    assert "已受理" in sms.sent[-1][2] and f"/r/t/{tracking}" in sms.sent[-1][2] and sms.sent[-1][0] == PHONE
    early = client.post(f"/api/v1/resident/track/{tracking}/rating", json={"rating": "满意"})
    assert early.status_code == 409 and "办结后" in early.get_json()["message"]
    for step, data in (("notice", {}), ("classify", {"amount": 5000}), ("risk_confirm", {}),
                       ("scope_check", {"willing": False, "refusing_party": "李某"}), ("guide", {"handoff_route": "court"})):
        do(svc, case_id, step, data)
    drive_foreign(svc, clock, case_id, {"court_case_no": "(2026)鄂1181民初1号"})
    view = client.get(f"/api/v1/resident/track/{tracking}").get_json()
    assert view["stage"] == "closed" and view["outcome"] and view["can_rate"], view
    assert tell_milestones(svc, sms) == 1 and "已办结" in sms.sent[-1][2]
    bad = client.post(f"/api/v1/resident/track/{tracking}/rating", json={"rating": "很好"})
    assert bad.status_code == 422
    rated = client.post(f"/api/v1/resident/track/{tracking}/rating", json={"rating": "不满意", "comment": "太慢了"})
    assert rated.status_code == 201 and rated.get_json()["rating"]["rating"] == "不满意"
    twice = client.post(f"/api/v1/resident/track/{tracking}/rating", json={"rating": "满意"})
    assert twice.status_code == 409 and count(svc, ResidentRating) == 1
    totals = client.get("/api/v1/stats/kpis", headers=login("city")).get_json()["totals"]
    assert (totals["resident_rated"], totals["resident_satisfied"], totals["resident_satisfaction_rate"]) == (1, 0, 0.0)


def case_of_only(svc) -> Case:
    with svc.db.read() as session:
        return session.scalars(select(Case)).one()


@pytest.mark.parametrize("code", ["000000", "12345", ""])
def test_a_wrong_code_is_refused_and_stores_nothing(client, svc, library, sms, code):
    real = get_code(client, sms)
    code = code if code != real else "999999"
    answer = report(client, code, photos=[("x.png", PNG)])
    assert answer.status_code == 422 and "验证码" in answer.get_json()["errors"]["code"]
    assert count(svc, Case) == 0 and count(svc, ResidentReport) == 0 and count(svc, Attachment) == 0


def test_an_expired_code_and_too_many_wrong_codes_are_refused(client, svc, library, sms):
    code = get_code(client, sms)
    svc.clock.advance(timedelta(minutes=11))
    answer = report(client, code)
    assert answer.status_code == 422 and answer.get_json()["errors"]["code"] == "验证码不正确或已过期，请重新获取"
    code = get_code(client, sms)
    wrong = "000000" if code != "000000" else "111111"
    messages = [report(client, wrong).get_json()["errors"]["code"] for _ in range(5)]
    assert messages[0] == "验证码不正确，还可再试 4 次" and messages[-1] == "验证码错误次数过多，请重新获取"
    assert report(client, code).status_code == 422  # the right code, too late
    assert count(svc, Case) == 0


def test_codes_and_reports_are_rate_limited_per_phone(client, svc, library, sms):
    get_code(client, sms)
    again = client.post("/api/v1/resident/codes", json={"phone": PHONE})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) <= 60 and "秒后" in again.get_json()["message"]
    for n in range(3):
        svc.clock.advance(timedelta(minutes=1))
        assert report(client, get_code(client, sms), description=f"{TEXT} 第{n}次").status_code == 201
    svc.clock.advance(timedelta(minutes=1))
    too_many = report(client, get_code(client, sms), description=f"{TEXT} 第四次")
    assert too_many.status_code == 429 and "次数过多" in too_many.get_json()["message"]
    assert "Retry-After" in too_many.headers and count(svc, Case) == 3


@pytest.mark.parametrize("name,content,message", [
    ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "太大了"),
    ("notes.png", b"MZ\x90\x00 not an image", "不是照片"),
    ("page.jpg", b"<html><script>alert(1)</script></html>", "不是照片"),
])
def test_oversize_or_non_image_photos_are_refused_before_anything_is_stored(client, svc, library, sms, tmp_path,
                                                                           name, content, message):
    answer = report(client, get_code(client, sms), photos=[(name, content)])
    assert answer.status_code == 422 and message in answer.get_json()["errors"]["photos"]
    assert count(svc, Case) == 0 and not any(svc.settings.attachments_dir.rglob("*"))
    code_row = case_row = None
    with svc.db.read() as session:
        code_row = session.scalars(select(ResidentCode)).one()
    assert code_row.used_at is None and case_row is None  # the code still works after fixing the photo


@pytest.mark.parametrize("field,value", [
    ("description", "<script>alert('x')</script>排水沟被堵了好几天了"),
    ("description", "排水沟<img src=x onerror=alert(1)>被堵了好几天"),
    ("name", "<b>张三</b>"),
])
def test_script_in_the_text_is_refused_with_a_chinese_message(client, svc, library, sms, field, value):
    answer = report(client, get_code(client, sms), **{field: value})
    assert answer.status_code == 422 and "网页代码" in answer.get_json()["errors"][field]
    assert count(svc, Case) == 0


def test_bad_fields_each_get_a_message(client, svc, library, sms):
    answer = report(client, get_code(client, sms), unit_code=VILLAGE_CODE, category="赌博", description="短",
                    phone="1391234567")
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == {"grid_code", "category", "description", "phone"}
    assert client.post("/api/v1/resident/codes", json={"phone": "12345"}).status_code == 422
    assert report(client, "123456", unit_code="nowhere").get_json()["errors"]["unit_code"].startswith("二维码无效")


def test_a_guessed_tracking_code_answers_exactly_like_an_unknown_one(client, svc, library, sms):
    real = report(client, get_code(client, sms)).get_json()["tracking_code"]
    near = real[:-1] + ("B" if real.endswith("A") else "A")   # one character off the real code
    answers = [client.get(f"/api/v1/resident/track/{code}") for code in (near, "x" * 24, "1")]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1
    rating = client.post(f"/api/v1/resident/track/{'x' * 24}/rating", json={"rating": "满意"})
    assert rating.status_code == 404 and rating.get_data() == answers[0].get_data()


def test_a_village_code_asks_for_the_grid_and_the_case_lands_there(client, svc, library, sms):
    unit = client.get(f"/api/v1/resident/units/{VILLAGE_CODE}").get_json()
    assert unit["kind"] == "village" and GRID_CODE in [g["code"] for g in unit["grids"]]
    assert report(client, get_code(client, sms), unit_code=VILLAGE_CODE, grid_code=GRID_CODE).status_code == 201
    assert case_of_only(svc).jurisdiction == GRID
    assert client.get("/api/v1/resident/units/songbu").status_code == 404  # a town is no QR code


def test_a_report_sent_twice_at_once_starts_one_case_and_both_get_its_code(app, svc, library, sms):
    from .conftest import REPEATS
    from .test_exactly_once import together

    client = app.test_client()
    for round_ in range(REPEATS):
        phone = f"1391234{round_:04d}"
        code = get_code(client, sms, phone)
        answers = together(*[lambda: report(app.test_client(), code, phone=phone)] * 2)
        assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
        assert answers[0].get_json()["tracking_code"] == answers[1].get_json()["tracking_code"]
        assert count(svc, Case) == count(svc, ResidentReport) == round_ + 1


def test_a_village_code_names_each_grids_workers_so_a_resident_can_recognise_theirs(client, library):
    grids = {g["code"]: g for g in client.get(f"/api/v1/resident/units/{VILLAGE_CODE}").get_json()["grids"]}
    assert grids[GRID_CODE]["workers"] == ["网格员 李网格"]
    assert grids["songbu-yangjiawan-g2"]["workers"] == ["网格员 周网格"]


def test_the_tracking_page_shows_the_grid_workers_public_card_and_no_one_elses(client, svc, library, sms, login):
    tracking = report(client, get_code(client, sms)).get_json()["tracking_code"]
    received = client.get(f"/api/v1/resident/track/{tracking}").get_json()
    assert received["contacts"] == [{"name": "网格员 李网格", "role": "网格员", "phone": "0713-5210003"}]
    # The grid worker signs for it (首办负责人): the card is theirs, with the number they publish.
    grid = login("grid")
    [task] = [t for t in client.get("/api/v1/tasks", headers=grid).get_json() if t["element_id"] == "register"]
    body = {**example(task["form_key"]), "channel": "resident"}
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid, json={"data": body}).status_code == 200
    admin = login("admin")
    [grid_user] = [u for u in client.get("/api/v1/admin/users?q=grid&page_size=50", headers=admin).get_json()["items"]
                   if u["username"] == "grid"]
    bad = client.patch(f"/api/v1/admin/users/{grid_user['id']}", headers=admin, json={"service_phone": "call me"})
    assert bad.status_code == 422 and "服务电话" in str(bad.get_json())
    changed = client.patch(f"/api/v1/admin/users/{grid_user['id']}", headers=admin, json={"service_phone": "0713-5219999"})
    assert changed.status_code == 200 and changed.get_json()["service_phone"] == "0713-5219999"
    accepted = client.get(f"/api/v1/resident/track/{tracking}").get_json()
    assert accepted["stage"] == "accepted"
    assert accepted["contacts"] == [{"name": "网格员 李网格", "role": "网格员", "phone": "0713-5219999"}]
    page = client.get(f"/r/t/{tracking}").get_data(as_text=True)
    assert "您的网格员" in page and 'href="tel:0713-5219999"' in page
    for other in ("张专员", "王调解", "tester"):  # no other staff name reaches the resident
        assert other not in page and other not in str(accepted)

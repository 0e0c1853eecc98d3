"""Form fields the browser and the server agree on: attachments in a form are the case's own files
(by id and sha256), and a required multiple choice (风险标签) needs an answer, "无" being one."""
from __future__ import annotations

import io

import pytest

from tests.test_process_intake import start
from tests.test_process_mediation import do, example, library, ready  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def attach(client, headers, case_id, name="现场照片.png", content=PNG):
    answer = client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers,
                         data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def complete(client, headers, svc, case_id, element_id, data):
    [task] = [t for t in ready(svc, case_id) if t.element_id == element_id]
    return client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json={"data": data})


def test_a_form_may_point_only_at_its_own_cases_attachments(svc, library, client, login):
    grid = login("grid")
    mine, other = start(svc), start(svc)
    photo = attach(client, grid, mine)
    elsewhere = attach(client, grid, other, "别案照片.png", PNG + b"x")
    ref = {key: photo[key] for key in ("id", "sha256", "filename")}

    for bad, path in (([{**ref, "sha256": "0" * 64}], "attachments.0"),
                      ([ref, {key: elsewhere[key] for key in ("id", "sha256")}], "attachments.1")):
        answer = complete(client, grid, svc, mine, "register", {**example("intake_register"), "attachments": bad})
        assert answer.status_code == 422, answer.get_json()
        assert path in answer.get_json()["errors"], answer.get_json()
    answer = complete(client, grid, svc, mine, "register", {**example("intake_register"), "attachments": [ref]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["data"]["attachments"] == [ref]


def test_risk_flags_need_an_answer(svc, library, client, login):
    cid = start(svc)
    do(svc, cid, "register")
    do(svc, cid, "notice")
    grid = login("grid")                                                 # 分类登记: the registering grid worker
    for flags in ([], ["无", "家暴"]):
        answer = complete(client, grid, svc, cid, "classify", {**example("intake_classify"), "risk_flags": flags})
        assert answer.status_code == 422 and "risk_flags" in answer.get_json()["errors"], answer.get_json()
    answer = complete(client, grid, svc, cid, "classify", {**example("intake_classify"), "risk_flags": ["无"]})
    assert answer.status_code == 200, answer.get_json()

"""Documents through the API, as the village mediator and the others use them: the agreement issued
at 签署协议, which the step requires signed; numbers, versions, the public verification, the audit
chain; the case file of a closed case."""
from __future__ import annotations

import hashlib
import io
import re

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import select

from cunliao.cli import main
from engine.files import FileStore
from engine.models import Case, CaseEvent
from engine.verify import verify_in_db

from .process_support import do, example, ready

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
PARTIES = [{"role": "申请人", "name": "张某", "phone": "13812345678", "id_no": "421181199001011234"},
           {"role": "被申请人", "name": "李某", "phone": "13987654321"}]


def flat(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def at_signing(svc) -> int:
    """A village mediation at 签署协议 (the parties registered with the case)."""
    case_id = svc.cases.start("village_mediation", {"risk_level": "yellow", "parties": PARTIES}, "grid", GRID,
                              "张某与李某排水沟纠纷").case.id
    do(svc, case_id, "appoint", example("mediation_appoint"))
    do(svc, case_id, "investigate", example("mediation_investigate"))
    do(svc, case_id, "session", example("mediation_session"))
    do(svc, case_id, "draft", example("mediation_agreement"))
    return case_id


def task_id(svc, case_id: int, element_id: str) -> str:
    return next(t.id for t in ready(svc, case_id) if t.element_id == element_id)


def test_the_agreement_is_issued_signed_and_required_before_signing_completes(client, login, svc, library):
    mediator = login("mediator")
    case_id = at_signing(svc)
    sign = task_id(svc, case_id, "sign")
    data = example("mediation_sign", wants_judicial_confirmation=False)

    refused = client.post(f"/api/v1/tasks/{sign}/complete", headers=mediator, json={"data": data})
    assert refused.status_code == 422 and "请先制作「人民调解协议书」" in refused.get_json()["message"]
    offered = client.get(f"/api/v1/tasks/{sign}/documents", headers=mediator).get_json()
    assert [t["key"] for t in offered["offered"]] == ["agreement"]
    assert offered["required"] == [{"kind": "agreement", "title": "人民调解协议书", "signed_required": True,
                                    "issued": False, "signed": False}]

    issued = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "agreement",
                                                                                         "task_id": sign})
    assert issued.status_code == 201, issued.get_json()
    document = issued.get_json()
    assert document["number"] == "杨家湾〔2026〕调字第0001号" and document["version"] == 1
    assert document["issuer"] == "宋埠镇杨家湾村人民调解委员会"
    pdf = client.get(f"/api/v1/documents/{document['id']}/pdf", headers=mediator).data
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    text = flat(pdf)
    for phrase in ("人民调解协议书", "杨家湾〔2026〕调字第0001号", "申请人：张某", "被申请人：李某", "两户排水沟堵塞",
                   "双方各出资200元清理排水沟", "共同出工出资", "2026年3月15日前履行完毕", "李调解"):
        assert phrase in text, phrase
    assert "4211**********1234" in text and "421181199001011234" not in text  # masked, never the real number
    assert "138****5678" in text and "13812345678" not in text

    still = client.post(f"/api/v1/tasks/{sign}/complete", headers=mediator, json={"data": data})
    assert still.status_code == 422 and "扫描件" in still.get_json()["message"]
    scan = client.post(f"/api/v1/cases/{case_id}/attachments", headers=mediator, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"%PDF-1.4 signed scan"), "signed.pdf")}).get_json()
    signed = client.post(f"/api/v1/documents/{document['id']}/signed", headers=mediator,
                         json={"attachment_id": scan["id"]})
    assert signed.status_code == 200 and signed.get_json()["signed"] is True
    done = client.post(f"/api/v1/tasks/{sign}/complete", headers=mediator, json={"data": data})
    assert done.status_code == 200, done.get_json()

    with svc.db.read() as session:
        events = {e.type: e.payload for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
        case = session.get(Case, case_id)
        files = FileStore(svc.settings.attachments_dir)
        assert verify_in_db(session, svc.registry, svc.cases.script_engine, case, files).ok
    assert events["document_issued"]["document"]["sha256"] == document["sha256"]
    assert events["document_signed"]["sha256"] == scan["sha256"]
    assert any(a["sha256"] == document["sha256"] for a in
               client.get(f"/api/v1/cases/{case_id}/attachments", headers=mediator).get_json())


def test_reissuing_makes_a_new_version_under_the_same_number(client, login, svc, library):
    mediator = login("mediator")
    case_id = at_signing(svc)
    first = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "agreement"}).get_json()
    second = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "agreement"}).get_json()
    assert (second["number"], second["version"]) == (first["number"], first["version"] + 1)
    assert first["sha256"] != second["sha256"] and first["code"] != second["code"]
    assert "（第2版）" in flat(client.get(f"/api/v1/documents/{second['id']}/pdf", headers=mediator).data)
    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=mediator).get_json()
    assert [(d["number"], d["version"]) for d in listed] == [(first["number"], 1), (first["number"], 2)]
    record = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "session_record"})
    another = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "session_record"})
    assert record.get_json()["number"] == "杨家湾〔2026〕录字第0001号"  # repeatable: each session its own number
    assert another.get_json()["number"] == "杨家湾〔2026〕录字第0002号"


def test_the_verification_page_answers_without_login_or_personal_data(client, login, svc, library):
    mediator = login("mediator")
    case_id = at_signing(svc)
    first = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "agreement"}).get_json()
    second = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "agreement"}).get_json()

    answer = client.get(f"/api/v1/verify/{first['code']}?sha256={first['sha256']}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["issued"] and body["matches"] and body["intact"]
    assert body["number"] == first["number"] and body["issuer"] == "宋埠镇杨家湾村人民调解委员会"
    assert body["superseded"] is True and body["latest_version"] == 2
    assert "张某" not in answer.get_data(as_text=True) and "case_id" not in body
    assert client.get(f"/api/v1/verify/{second['code']}?sha256={'0' * 64}").get_json()["matches"] is False
    assert client.get("/api/v1/verify/NOSUCHCODE").status_code == 404
    page = client.get(f"/verify/{first['code']}")
    assert page.status_code == 200 and first["number"] in page.get_data(as_text=True)
    pdf = client.get(f"/api/v1/documents/{first['id']}/pdf", headers=mediator).data
    same = client.post(f"/verify/{first['code']}", data={"file": (io.BytesIO(pdf), "a.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    other = client.post(f"/verify/{first['code']}", data={"file": (io.BytesIO(pdf + b" "), "a.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "文件与出具的文书完全一致" in same and "文件与出具的文书不一致" in other
    assert client.get("/verify/NOSUCHCODE").status_code == 404


def test_missing_data_is_refused_naming_the_fields(client, login, svc, library):
    mediator = login("mediator")
    bare = svc.cases.start("village_mediation", {"risk_level": "yellow"}, "grid", GRID, "无当事人").case.id
    refused = client.post(f"/api/v1/cases/{bare}/documents", headers=mediator, json={"kind": "agreement"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body["missing"]) == {"parties", "facts_and_issues", "agreement_text", "performance_due"}
    assert "「协议内容」" in body["message"] and "「当事人」" in body["message"]
    early = client.post(f"/api/v1/cases/{bare}/documents", headers=mediator, json={"kind": "case_file"})
    assert early.status_code == 409 and "已办结" in early.get_json()["message"]
    with svc.db.read() as session:
        assert session.get(Case, bare).event_seq == 1  # nothing written: no event, no number taken
    unknown = client.post(f"/api/v1/cases/{bare}/documents", headers=mediator, json={"kind": "nonsense"})
    assert unknown.status_code == 404
    auditor = login("auditor")
    assert client.post(f"/api/v1/cases/{bare}/documents", headers=auditor, json={"kind": "notice"}).status_code == 403


def test_the_case_file_of_a_closed_case_holds_every_document_and_the_timeline(client, login, svc, library):
    mediator = login("mediator")
    case_id = at_signing(svc)
    agreement = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator,
                            json={"kind": "agreement"}).get_json()
    scan = client.post(f"/api/v1/cases/{case_id}/attachments", headers=mediator, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"%PDF-1.4 scan"), "signed.pdf")}).get_json()
    client.post(f"/api/v1/documents/{agreement['id']}/signed", headers=mediator, json={"attachment_id": scan["id"]})
    sign = task_id(svc, case_id, "sign")
    assert client.post(f"/api/v1/tasks/{sign}/complete", headers=mediator, json={
        "data": example("mediation_sign", wants_judicial_confirmation=False)}).status_code == 200
    assert svc.cases.view(case_id).case.status == "completed"

    issued = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator, json={"kind": "case_file"})
    assert issued.status_code == 201, issued.get_json()
    case_file = issued.get_json()
    pdf = client.get(f"/api/v1/documents/{case_file['id']}/pdf", headers=mediator).data
    text = flat(pdf)
    for phrase in ("人民调解案卷", case_file["number"], "卷内目录", "案件基本情况", agreement["number"],
                   "办理过程记录", "完成「签署协议」", "备考表", agreement["sha256"]):
        assert phrase in text, phrase
    assert case_file["pages"] == len(PdfReader(io.BytesIO(pdf)).pages) >= 5
    assert "421181199001011234" not in text
    town = login("town")  # a reader higher up downloads it too
    assert client.get(f"/api/v1/documents/{case_file['id']}/pdf", headers=town).status_code == 200


def test_audit_verify_catches_an_altered_document(client, login, svc, library, db_url, monkeypatch):
    mediator = login("mediator")
    case_id = at_signing(svc)
    document = client.post(f"/api/v1/cases/{case_id}/documents", headers=mediator,
                           json={"kind": "agreement"}).get_json()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ATTACHMENTS_DIR", str(svc.settings.attachments_dir))
    assert CliRunner().invoke(main, ["audit", "verify", "--all"], catch_exceptions=False).exit_code == 0
    files = FileStore(svc.settings.attachments_dir)
    path = files.path(document["sha256"])
    path.write_bytes(path.read_bytes().replace(b"%PDF", b"%PDX", 1))
    with svc.db.read() as session:
        verdict = verify_in_db(session, svc.registry, svc.cases.script_engine, session.get(Case, case_id), files)
    assert not verdict.ok and document["number"] in verdict.reason
    cli = CliRunner().invoke(main, ["audit", "verify", "--all"], catch_exceptions=False)
    assert cli.exit_code == 1 and f"the stored file of {document['number']} is missing" in cli.output
    answer = client.post(f"/api/v1/cases/{case_id}/verify", headers=mediator).get_json()
    assert answer["ok"] is False
    assert client.get(f"/api/v1/documents/{document['id']}/pdf", headers=mediator).status_code == 409


@pytest.mark.parametrize("kind", ["notice", "whistle_order", "revisit_record", "jc_application"])
def test_other_kinds_refuse_until_their_data_is_there(client, login, svc, library, kind):
    """A village mediation without intake, whistle or revisit data: each names what it lacks."""
    case_id = at_signing(svc)
    answer = client.post(f"/api/v1/cases/{case_id}/documents", headers=login("mediator"), json={"kind": kind})
    if kind == "notice":  # the parties are all a notice needs
        assert answer.status_code == 201 and answer.get_json()["number"] == "杨家湾〔2026〕告字第0001号"
    else:
        assert answer.status_code == 422 and answer.get_json()["missing"]

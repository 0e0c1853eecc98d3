"""Personal data is encrypted at rest, hashed for matching, masked in answers, and every unmask is audited."""
from __future__ import annotations

import io
import json

from sqlalchemy import select, text

from engine.models import Case, CaseEvent

from .test_api import upload
from .test_work import grid2  # noqa: F401 - a fixture: a second grid worker

ID_NO = "421181199001011234"
PHONE = "13812345678"
PARTIES = [{"role": "申请人", "name": "张三", "id_no": ID_NO, "phone": PHONE}, {"role": "被申请人", "name": "李四"}]


def start(client, headers):
    response = client.post("/api/v1/cases", headers=headers, json={
        "process_key": "t_simple", "data": {"parties": PARTIES, "caller_phone": PHONE}})
    assert response.status_code == 201
    return response.get_json()


def test_personal_data_never_rests_in_plain_text(client, login, svc):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    case = start(client, login("grid"))
    assert case["data"]["parties"][0]["id_no"] == "4211**********1234"
    assert case["data"]["parties"][0]["phone"] == "138****5678" and case["data"]["caller_phone"] == "138****5678"
    assert case["data"]["parties"][0]["name"] == "张三"
    with svc.db.engine.connect() as conn:
        for table in ("cases", "case_events"):
            dump = json.dumps([list(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {table}"))],
                              ensure_ascii=False)
            assert ID_NO not in dump and PHONE not in dump, table


def test_same_person_has_the_same_hash_across_cases(client, login, svc):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid = login("grid")
    first, second = start(client, grid), start(client, grid)
    with svc.db.read() as session:
        hashes = [session.get(Case, c["id"]).data["parties"][0]["id_no"]["hash"] for c in (first, second)]
    assert hashes[0] == hashes[1] == svc.vault.identity_hash(ID_NO)


def test_unmask_is_for_roles_that_need_it_and_is_audited(client, login, svc):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    case = start(client, login("grid"))
    url = f"/api/v1/cases/{case['id']}/personal-data?reason=电话联系当事人"
    for role in ("auditor", "designer"):
        assert client.get(url, headers=login(role)).status_code == 403
    assert client.get(f"/api/v1/cases/{case['id']}/personal-data", headers=login("mediator")).status_code == 422
    shown = client.get(url, headers=login("mediator")).get_json()
    assert shown["values"] == {"parties.0.id_no": ID_NO, "parties.0.phone": PHONE, "caller_phone": PHONE}
    with svc.db.read() as session:
        viewed = session.scalars(select(CaseEvent).where(CaseEvent.type == "personal_data_viewed")).one()
    assert viewed.actor == "mediator" and viewed.payload["reason"] == "电话联系当事人"
    assert ID_NO not in json.dumps(viewed.payload)
    assert client.get(url, headers=login("dept")).status_code in (403, 404)
    verdict = client.post(f"/api/v1/cases/{case['id']}/verify", headers=login("auditor")).get_json()
    assert verdict["ok"] is True


def test_cases_are_found_by_indexed_fields_and_party_identity(client, login, svc):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid, town = login("grid"), login("town")
    first = start(client, grid)
    client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple", "data": {"category": "邻里"}})
    client.post(f"/api/v1/tasks/{first['tasks'][0]['id']}/complete", headers=grid,
                json={"data": {"summary": "宅基地边界纠纷", "amount": 5000}})
    found = client.post("/api/v1/cases/search", headers=town, json={"id_no": ID_NO}).get_json()
    assert [c["id"] for c in found["items"]] == [first["id"]]
    assert client.get("/api/v1/cases?category=邻里", headers=town).get_json()["total"] == 1
    assert client.get("/api/v1/cases?area=/macheng/songbu/songbu-yangjiawan/", headers=town).get_json()["total"] == 2
    assert client.get("/api/v1/cases?area=/macheng/guishan/", headers=login("city")).get_json()["total"] == 0


# --- personal data by declaration, drafts, free text, bundles, searches, census duplicates -------

DECLARING_FORM = json.dumps({
    "type": "object", "required": ["summary", "amount"],
    "properties": {"summary": {"type": "string"}, "amount": {"type": "number"},
                   "liaison_phone": {"type": "string", "format": "tel"},
                   "witness": {"type": "object", "properties": {"name": {"type": "string", "x-pii": "name"},
                                                                "card": {"type": "string", "format": "id-number"}}}},
}, ensure_ascii=False).encode()
WITNESS_ID = "420106198805050012"
CENSUS_ID = "421181199001011232"  # with a valid check digit, as the census wants


def plain_text_in_tables(svc, *tables: str) -> str:
    with svc.db.engine.connect() as conn:
        return json.dumps([list(map(str, row)) for table in tables for row in conn.execute(text(f"SELECT * FROM {table}"))],
                          ensure_ascii=False)


def test_fields_declared_personal_in_a_form_are_sealed_wherever_they_appear(client, login, svc):
    designer = login("designer")
    assert upload(client, designer, "t_simple.bpmn", "t_register.schema.json").status_code == 201
    assert upload(client, designer, "t_register.schema.json", content=DECLARING_FORM).status_code == 201
    grid = login("grid")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple",
                                                             "data": {"liaison_phone": "13912345678"}}).get_json()
    done = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid, json={"data": {
        "summary": "邻里纠纷", "amount": 1, "witness": {"name": "王五六", "card": WITNESS_ID}}})
    assert done.status_code == 200, done.get_json()
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=grid).get_json()["data"]
    assert shown["liaison_phone"] == "139****5678"
    assert shown["witness"] == {"name": "王**", "card": "4201**********0012"}
    dump = plain_text_in_tables(svc, "cases", "case_events")
    assert "13912345678" not in dump and WITNESS_ID not in dump and "王五六" not in dump


def test_drafts_are_sealed_and_every_reader_sees_them_masked(client, login, svc, grid2):
    assert upload(client, login("designer"), "t_returnable.bpmn", "t_register.schema.json").status_code == 201
    grid = login("grid")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_returnable"}).get_json()
    task_id = case["tasks"][0]["id"]
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=grid)
    client.post(f"/api/v1/tasks/{task_id}/delegate", headers=grid, json={"to": grid2, "note": "核实"})
    resolved = client.post(f"/api/v1/tasks/{task_id}/resolve", headers=login(grid2),
                           json={"draft": {"summary": "核实金额", "contact_phone": PHONE}})
    assert resolved.status_code == 200
    for role in ("grid", "designer", "auditor", "admin"):
        answer = client.get(f"/api/v1/cases/{case['id']}", headers=login(role))
        body = answer.get_data(as_text=True)
        assert PHONE not in body and '"enc"' not in body and svc.vault.identity_hash(PHONE) not in body, role
        assert answer.get_json()["tasks"][0]["draft"] == {"summary": "核实金额", "contact_phone": "138****5678"}
    assert PHONE not in plain_text_in_tables(svc, "case_tasks", "case_events")


def test_id_and_mobile_numbers_in_free_text_are_masked_in_every_answer_and_export(client, login, svc):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid = login("grid")
    case = client.post("/api/v1/cases", headers=grid, json={
        "process_key": "t_simple", "title": f"张三（{ID_NO}）与李四纠纷", "data": {"address": f"杨家湾 电话{PHONE}"}}).get_json()
    client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, json={"text": f"已联系 {PHONE}"})
    for url in (f"/api/v1/cases/{case['id']}", "/api/v1/cases", f"/api/v1/cases/{case['id']}/comments",
                f"/api/v1/cases/{case['id']}/events", "/api/v1/tasks", f"/api/v1/tasks/{case['tasks'][0]['id']}"):
        body = client.get(url, headers=grid).get_data(as_text=True)
        assert ID_NO not in body and PHONE not in body, url
        assert "4211**********1234" in body or "138****5678" in body, url
    grid_path = "songbu-yangjiawan-g1"
    assert client.post("/api/v1/census/people", headers=grid, json={
        "grid": grid_path, "name": "张三", "id_no": CENSUS_ID, "address": f"杨家湾 3 号（手机 {PHONE}）"}).status_code == 201
    from openpyxl import load_workbook
    export = client.get(f"/api/v1/census/export?grid={grid_path}", headers=grid)
    cells = [str(c) for sheet in load_workbook(io.BytesIO(export.data)).worksheets
             for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert not [c for c in cells if PHONE in c or ID_NO in c] and any("138****5678" in c for c in cells)


def test_audit_bundles_carry_keyed_hashes_for_auditors_only_and_each_download_is_recorded(client, login, svc):
    from engine.verify import verify_bundle

    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    case = start(client, login("grid"))
    url = f"/api/v1/cases/{case['id']}/audit-bundle"
    for role in ("grid", "designer", "town", "city"):
        assert client.get(url, headers=login(role)).status_code == 403, role
    answer = client.get(url, headers=login("auditor"))
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert '"enc"' not in body and ID_NO not in body and svc.vault.identity_hash(ID_NO) in body
    assert verify_bundle(json.loads(body)).ok
    assert client.get(url, headers=login("admin")).status_code == 200
    with svc.db.read() as session:
        downloads = session.scalars(select(CaseEvent).where(CaseEvent.type == "audit_bundle_downloaded")).all()
    assert [e.actor for e in downloads] == ["auditor", "admin"]
    assert client.post(f"/api/v1/cases/{case['id']}/verify", headers=login("auditor")).get_json()["ok"]


def test_no_id_number_travels_in_a_query_string(client, login):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    case = start(client, login("grid"))
    town = login("town")
    refused = client.get(f"/api/v1/cases?id_no={ID_NO}", headers=town)
    assert refused.status_code == 400 and "POST /api/v1/cases/search" in refused.get_json()["detail"]
    assert ID_NO not in refused.get_data(as_text=True)
    found = client.post("/api/v1/cases/search", headers=town, json={"id_no": ID_NO}).get_json()
    assert [c["id"] for c in found["items"]] == [case["id"]]
    assert client.post("/api/v1/cases/search", headers=login("auditor"), json={"id_no": ID_NO}).status_code == 403
    assert client.post("/api/v1/cases/search", headers=town, json={"status": "active"}).get_json()["total"] == 1


def test_registering_someone_registered_elsewhere_reveals_nothing_about_where(client, login):
    admin, town = login("admin"), login("town")
    elsewhere = "421181199202022229"
    assert client.post("/api/v1/census/people", headers=admin, json={
        "grid": "guishan-guifeng-g1", "name": "龟山某", "id_no": elsewhere}).status_code == 201
    assert client.post("/api/v1/census/people", headers=town, json={
        "grid": "songbu-yangjiawan-g1", "name": "本镇某", "id_no": CENSUS_ID}).status_code == 201
    answers = [client.post("/api/v1/census/people", headers=town, json={
        "grid": "songbu-yangjiawan-g2", "name": "某人", "id_no": id_no}) for id_no in (elsewhere, CENSUS_ID)]
    assert [a.status_code for a in answers] == [409, 409]
    first, second = (a.get_json() for a in answers)
    assert first == second and "请联系上级核实" in first["message"]
    assert "guishan" not in json.dumps(first, ensure_ascii=False) and "龟山" not in json.dumps(first, ensure_ascii=False)


def test_the_whistle_liaisons_phone_is_sealed_by_its_form(svc, library):
    sealed = svc.cases.seal({"ack_decision": "应哨", "liaison_name": "赵联络", "liaison_phone": "13800000000"})
    assert sealed["liaison_phone"]["$pii"] == "phone" and sealed["liaison_phone"]["masked"] == "138****0000"
    assert sealed["liaison_name"] == "赵联络"

"""Personal data is encrypted at rest, hashed for matching, masked in answers, and every unmask is audited."""
from __future__ import annotations

import json

from sqlalchemy import select, text

from engine.models import Case, CaseEvent

from .test_api import upload

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
    found = client.get(f"/api/v1/cases?id_no={ID_NO}", headers=town).get_json()
    assert [c["id"] for c in found["items"]] == [first["id"]]
    assert client.get(f"/api/v1/cases?id_no={ID_NO}", headers=login("auditor")).status_code == 403
    assert client.get("/api/v1/cases?category=邻里", headers=town).get_json()["total"] == 1
    assert client.get("/api/v1/cases?area=/macheng/songbu/songbu-yangjiawan/", headers=town).get_json()["total"] == 2
    assert client.get("/api/v1/cases?area=/macheng/guishan/", headers=login("city")).get_json()["total"] == 0

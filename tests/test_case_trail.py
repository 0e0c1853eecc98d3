"""The case diagram's data: per process, what was completed and what is active, with its BPMN."""
from __future__ import annotations

from tests.test_process_intake import register_and_triage, start
from tests.test_process_mediation import do, library  # noqa: F401


def test_trail_marks_the_path_and_the_active_step_in_each_process(svc, library, client, login):
    cid = start(svc)
    register_and_triage(svc, cid)
    do(svc, cid, "route_confirm")
    do(svc, cid, "accept_village")  # the case is now inside village_mediation, called by dispute_intake

    answer = client.get(f"/api/v1/cases/{cid}/trail", headers=login("mediator"))
    assert answer.status_code == 200, answer.json
    trail = {entry["process_key"]: entry for entry in answer.json}
    assert answer.json[0]["process_key"] == "dispute_intake"
    top = trail["dispute_intake"]
    assert {"register", "classify", "route_confirm"} <= set(top["done"])
    assert top["xml"].startswith("<?xml") and 'id="dispute_intake"' in top["xml"]
    called = [entry for key, entry in trail.items() if key != "dispute_intake" and entry["active"]]
    assert called, trail.keys()
    assert any(active in top["active"] for active in _call_activities(top["xml"]))
    assert all(f'id="{element}"' in called[0]["xml"] for element in called[0]["active"])


def test_an_embedded_sub_process_is_drawn_in_its_process(svc, library, client, login):
    cid = start(svc)
    register_and_triage(svc, cid)
    for element_id in ("route_confirm", "accept_village", "appoint", "investigate"):
        do(svc, cid, element_id)  # now at 调解 inside the embedded sub-process `sessions`

    trail = client.get(f"/api/v1/cases/{cid}/trail", headers=login("mediator")).json
    assert [entry["process_key"] for entry in trail] == ["dispute_intake", "village_mediation"]
    assert all(entry["xml"] for entry in trail)
    mediation = trail[1]
    assert {"session", "sessions"} <= set(mediation["active"]) and "sp_start" in mediation["done"]
    history = client.get(f"/api/v1/cases/{cid}/history?at=1000", headers=login("auditor")).json
    assert [t["process_key"] for t in history["open_tasks"]] == ["village_mediation"]
    assert [entry["process_key"] for entry in history["trail"]] == ["dispute_intake", "village_mediation"]


def test_history_carries_the_trail_as_of_each_step(svc, library, client, login):
    cid = start(svc)
    do(svc, cid, "register")
    first = client.get(f"/api/v1/cases/{cid}/history?at=1", headers=login("auditor")).json
    later = client.get(f"/api/v1/cases/{cid}/history?at=2", headers=login("auditor")).json
    assert "register" in first["trail"][0]["active"]
    assert "register" in later["trail"][0]["done"] and "register" not in later["trail"][0]["active"]
    assert first["open_tasks"][0]["process_key"] == "dispute_intake"


def test_trail_is_scoped(svc, library, client, login):
    cid = start(svc)
    assert client.get(f"/api/v1/cases/{cid}/trail", headers=login("dept")).status_code == 404


def _call_activities(xml: str) -> list[str]:
    import re
    return re.findall(r'<bpmn:callActivity id="([^"]+)"', xml)


def test_events_name_their_actors_as_people_know_them(svc, library, client, login):
    cid = start(svc)
    events = client.get(f"/api/v1/cases/{cid}/events", headers=login("auditor")).json["items"]
    assert (events[0]["actor"], events[0]["actor_name"]) == ("grid", "网格员 李网格")


def test_labels_name_the_case_fields_as_its_forms_do(svc, library, client, login):
    cid = start(svc)
    labels = client.get(f"/api/v1/cases/{cid}/labels", headers=login("grid")).json["labels"]
    assert labels["title"] and labels["address"] and all(isinstance(v, str) for v in labels.values())
    assert labels["owner_level"] == "承办层级"  # computed by a script: workflows/data_labels.json names it
    options = client.get(f"/api/v1/cases/{cid}/labels", headers=login("grid")).json["options"]
    assert options["channel"]["grid_patrol"] == "网格排查" and options["owner_level"]["village"] == "村（社区）"
    assert client.get(f"/api/v1/cases/{cid}/labels", headers=login("dept")).status_code == 404

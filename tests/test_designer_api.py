"""What the browser designer needs from the API: validate without deploying, one edited file checked
against what is deployed, the deployed forms (and deploying a form alone), SLA keys and roles."""
from __future__ import annotations

import io
import json

import pytest

from .conftest import FIXTURES

SIMPLE = (FIXTURES / "t_simple.bpmn").read_bytes()
FORM = (FIXTURES / "t_register.schema.json").read_bytes()


def multipart(*files: tuple[str, bytes]) -> dict:
    return {"data": {"files": [(io.BytesIO(content), name) for name, content in files]},
            "content_type": "multipart/form-data"}


@pytest.fixture
def designer(login):
    return login("designer")


@pytest.fixture
def deployed(client, designer):
    answer = client.post("/api/v1/definitions", headers=designer,
                         **multipart(("t_simple.bpmn", SIMPLE), ("t_register.schema.json", FORM)))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_validate_deploys_nothing(client, designer):
    answer = client.post("/api/v1/definitions/validate", headers=designer,
                         **multipart(("t_simple.bpmn", SIMPLE), ("t_register.schema.json", FORM)))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"ok": True, "processes": [
        {"key": "t_simple", "name": "测试：登记与调解", "latest_version": None, "changed": True}]}
    assert client.get("/api/v1/definitions", headers=designer).get_json() == []


def test_one_edited_file_is_checked_against_the_deployed_forms(client, designer, deployed):
    # unchanged: validates (the form comes from the deployed version) and would keep version 1
    answer = client.post("/api/v1/definitions/validate", headers=designer, **multipart(("t_simple.bpmn", SIMPLE)))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["processes"] == [
        {"key": "t_simple", "name": "测试：登记与调解", "latest_version": 1, "changed": False}]
    renamed = SIMPLE.replace("登记纠纷".encode(), "登记矛盾纠纷".encode())
    answer = client.post("/api/v1/definitions/validate", headers=designer, **multipart(("t_simple.bpmn", renamed)))
    assert answer.get_json()["processes"][0]["changed"] is True
    answer = client.post("/api/v1/definitions", headers=designer, **multipart(("t_simple.bpmn", renamed)))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"deployed": [{"key": "t_simple", "version": 2, "created": True}]}
    detail = client.get("/api/v1/definitions/t_simple/versions/2", headers=designer).get_json()
    assert detail["file"] == "t_simple.bpmn" and "登记矛盾纠纷" in detail["xml"]
    assert {f["name"] for f in detail["files"]} == {"t_simple.bpmn", "t_register.schema.json"}


def test_validation_errors_name_the_element_and_nothing_is_stored(client, designer, deployed):
    broken = SIMPLE.replace(b"risk == 'high'", b"risk == = 'high'").replace(
        b"risk = 'high' if", b"risk = 'high' iff")
    for path in ("/api/v1/definitions/validate", "/api/v1/definitions"):
        answer = client.post(path, headers=designer, **multipart(("t_simple.bpmn", broken)))
        assert answer.status_code == 422, answer.get_json()
        assert answer.content_type == "application/problem+json"
        errors = answer.get_json()["errors"]
        assert {e["element_id"] for e in errors} == {"f_high", "grade"}
        assert all(e["file"] == "t_simple.bpmn" and e["line"] for e in errors)
    assert [v["version"] for v in client.get("/api/v1/definitions/t_simple/versions", headers=designer).get_json()] == [1]


def test_validate_needs_files_and_a_designer(client, designer, login):
    assert client.post("/api/v1/definitions/validate", headers=designer, data={}).status_code == 400
    answer = client.post("/api/v1/definitions/validate", headers=login("grid"), **multipart(("t_simple.bpmn", SIMPLE)))
    assert answer.status_code == 403


def test_forms_are_listed_and_read(client, designer, deployed, login):
    forms = client.get("/api/v1/definitions/forms", headers=login("mediator")).get_json()
    assert forms == [{"key": "t_register", "title": "纠纷登记", "file": "t_register.schema.json",
                      "sha256": forms[0]["sha256"], "used_by": ["t_simple"]}]
    form = client.get("/api/v1/definitions/forms/t_register", headers=designer).get_json()
    assert form["schema"] == json.loads(FORM)
    assert form["source"] == FORM.decode()  # the file as deployed: its fields in the author's order
    missing = client.get("/api/v1/definitions/forms/nope", headers=designer)
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_a_form_deployed_alone_makes_new_versions_of_its_processes(client, designer, deployed):
    schema = json.loads(FORM)
    schema["properties"]["note"] = {"type": "string", "title": "备注"}
    edited = json.dumps(schema, ensure_ascii=False).encode()
    answer = client.post("/api/v1/definitions/validate", headers=designer,
                         **multipart(("t_register.schema.json", edited)))
    assert answer.status_code == 200 and answer.get_json()["processes"][0]["changed"] is True
    answer = client.post("/api/v1/definitions", headers=designer, **multipart(("t_register.schema.json", edited)))
    assert answer.get_json() == {"deployed": [{"key": "t_simple", "version": 2, "created": True}]}
    form = client.get("/api/v1/definitions/forms/t_register", headers=designer).get_json()
    assert "note" in form["schema"]["properties"]
    # the same form again changes nothing
    answer = client.post("/api/v1/definitions", headers=designer, **multipart(("t_register.schema.json", edited)))
    assert answer.get_json() == {"deployed": [{"key": "t_simple", "version": 2, "created": False}]}
    # a broken form is refused with its file named
    answer = client.post("/api/v1/definitions", headers=designer,
                         **multipart(("t_register.schema.json", b'{"type": "object", "properties": {"a": {"type": 7}}}')))
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["file"] == "t_register.schema.json"


def test_a_form_no_process_uses_is_refused(client, designer, deployed):
    answer = client.post("/api/v1/definitions", headers=designer,
                         **multipart(("lonely.schema.json", b'{"type": "object", "properties": {}}')))
    assert answer.status_code == 422


def test_sla_keys_and_roles_for_designers(client, designer, login):
    keys = client.get("/api/v1/definitions/sla-keys", headers=designer).get_json()
    by_key = {k["key"]: k for k in keys}
    assert by_key["village_accept"]["name"] == "村级签收" and by_key["village_accept"]["duration"] == "PT24H"
    roles = client.get("/api/v1/definitions/roles", headers=designer).get_json()
    assert {"code": "village_mediator", "zh": "村调解员", "en": "Village mediator", "level": "village"} in roles
    for path in ("sla-keys", "roles"):
        assert client.get(f"/api/v1/definitions/{path}", headers=login("grid")).status_code == 403

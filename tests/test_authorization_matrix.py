"""Every API endpoint × every demo role × an object inside / outside the caller's jurisdiction.

The expectations come from one table, ``POLICIES``, keyed by route. The first test fails when the
app has a route the table does not name, so a new endpoint cannot be forgotten.

An answer *passes* authorization unless it is 403 (forbidden) or 404 (hidden: outside the
caller's jurisdiction, or not theirs); bodies are left empty where they would change data, so an
authorized call usually ends in 422 — which is a pass here.
"""
from __future__ import annotations

import io

import pytest

from .conftest import DEMO_PASSWORD, FIXTURES

DOCUMENTS = FIXTURES.parent.parent / "workflows" / "documents"

PASS, DENY, HIDE = "pass", 403, 404
USERS = ("admin", "designer", "auditor", "grid", "mediator", "town", "city", "dept", "leader")
ROLES = {"admin": {"admin"}, "designer": {"designer"}, "auditor": {"auditor"}, "grid": {"grid_worker"},
         "mediator": {"village_mediator"}, "town": {"town_officer"}, "city": {"city_director", "city_officer"},
         "dept": {"department_liaison"}, "leader": {"leader"}}
# Which demo users' units cover the grid case (宋埠镇杨家湾村第一网格) and the other-town case (龟山镇).
COVERS = {"in": {"admin", "designer", "auditor", "grid", "mediator", "town", "city", "leader"},
          "out": {"admin", "designer", "auditor", "city", "leader"}}
READ_ONLY = {"auditor", "designer"}
SUPERVISORS = {"admin", "town_director", "city_director"}
URGERS = SUPERVISORS | {"town_officer", "city_officer"}
CENTRE = {"town_officer", "town_director", "city_officer", "city_director"}
CENSUS_ROUNDS = {"grid_worker", "town_officer", "town_director"}
VISITORS = {"grid_worker", "village_mediator", "village_secretary", "town_officer", "town_director", "justice_officer",
            "police_liaison"}
ROSTER = {"grid_worker", "village_secretary", "village_mediator", "town_officer", "town_director"}
UNMASK = {"grid_worker", "village_mediator", "village_secretary", "town_officer", "town_director", "justice_officer",
          "police_liaison", "city_officer", "city_director", "leader"}


def has(user, roles) -> bool:
    return bool(ROLES[user] & set(roles))


def case_read(user, where):
    return PASS if user in COVERS[where] else HIDE


def case_note(user, where):
    return DENY if ROLES[user] <= READ_ONLY else case_read(user, where)


def gated(roles, then=case_read):
    return lambda user, where: then(user, where) if has(user, roles) else DENY


def task_work(user, where):
    """Complete / claim: hidden outside the area, forbidden without the lane's role (grid_worker)."""
    if user not in COVERS[where]:
        return HIDE
    return PASS if has(user, {"grid_worker"}) else DENY


def task_return(user, where):
    if user not in COVERS[where]:
        return HIDE
    return PASS if has(user, {"grid_worker"} | SUPERVISORS) else DENY


def anyone(user, where):
    return PASS


def not_read_only(user, where):
    return DENY if ROLES[user] <= READ_ONLY else PASS


def deployers(user, where):
    return PASS if has(user, {"designer", "admin"}) else DENY


def admins(user, where):
    return PASS if has(user, {"admin"}) else DENY


def nobody(user, where):
    return HIDE


# route -> (policy, whether it takes an in/out object)
POLICIES = {
    "GET /api/v1/cases/<int:case_id>": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/events": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/history": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/comments": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/attachments": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/audit-bundle": (gated({"auditor", "admin"}), True),
    "POST /api/v1/cases/<int:case_id>/verify": (case_read, True),
    "GET /api/v1/attachments/<int:attachment_id>": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/personal-data": (gated(UNMASK), True),
    "POST /api/v1/cases/<int:case_id>/comments": (case_note, True),
    "POST /api/v1/cases/<int:case_id>/attachments": (case_note, True),
    "POST /api/v1/cases/<int:case_id>/cancel": (gated(SUPERVISORS), True),
    "POST /api/v1/cases/<int:case_id>/suspend": (gated(SUPERVISORS), True),
    "POST /api/v1/cases/<int:case_id>/resume": (gated(SUPERVISORS), True),
    "POST /api/v1/cases/<int:case_id>/repairs/correct-data": (gated({"admin"}), True),
    "POST /api/v1/cases/<int:case_id>/repairs/migrate": (gated({"admin"}), True),
    "POST /api/v1/cases/<int:case_id>/repairs/retry": (gated({"admin"}), True),
    "POST /api/v1/cases/<int:case_id>/repairs/rewind": (gated({"admin"}), True),
    "POST /api/v1/tasks/<task_id>/complete": (task_work, True),
    "POST /api/v1/tasks/<task_id>/claim": (task_work, True),
    "POST /api/v1/tasks/<task_id>/unclaim": (case_read, True),
    "POST /api/v1/tasks/<task_id>/delegate": (case_read, True),
    "POST /api/v1/tasks/<task_id>/resolve": (case_read, True),
    "POST /api/v1/tasks/<task_id>/recall": (case_read, True),
    "POST /api/v1/tasks/<task_id>/copy": (case_note, True),
    "POST /api/v1/tasks/<task_id>/return": (task_return, True),
    "POST /api/v1/tasks/<task_id>/reassign": (gated(SUPERVISORS), True),
    "POST /api/v1/tasks/<task_id>/urge": (gated(URGERS), True),
    "POST /api/v1/tasks/<task_id>/assign": (gated(CENTRE), True),
    "POST /api/v1/tasks/<task_id>/transfer": (gated(CENTRE), True),
    "POST /api/v1/tasks/<task_id>/skip": (gated({"admin"}), True),
    "GET /api/v1/cases": (anyone, False),
    "POST /api/v1/cases/search": (anyone, False),
    "POST /api/v1/cases": (not_read_only, False),
    "GET /api/v1/tasks": (anyone, False),
    "GET /api/v1/tasks/overdue-board": (anyone, False),
    "GET /api/v1/notifications": (anyone, False),
    "POST /api/v1/notifications/<int:notification_id>/read": (nobody, False),
    "POST /api/v1/messages": (not_read_only, False),
    "GET /api/v1/messages/undeliverable": (admins, False),
    "GET /api/v1/definitions": (anyone, False),
    "GET /api/v1/definitions/<key>/versions": (anyone, False),
    "GET /api/v1/definitions/<key>/versions/<int:number>": (anyone, False),
    "POST /api/v1/definitions": (deployers, False),
    # The grid census (api/census/routes.py): scoped like cases, read-only for auditors and designers.
    "GET /api/v1/census/people": (anyone, False),
    "POST /api/v1/census/people": (not_read_only, False),
    "POST /api/v1/census/people/search": (gated(UNMASK, then=anyone), False),
    "GET /api/v1/census/people/<int:person_id>": (case_read, True),
    "PATCH /api/v1/census/people/<int:person_id>": (case_note, True),
    "GET /api/v1/census/people/<int:person_id>/personal-data": (gated(UNMASK), True),
    "GET /api/v1/census/items": (anyone, False),
    "POST /api/v1/census/items": (not_read_only, False),
    "GET /api/v1/census/changes": (anyone, False),
    "POST /api/v1/census/rounds": (gated(CENSUS_ROUNDS, then=anyone), False),
    "GET /api/v1/census/rounds": (anyone, False),
    "GET /api/v1/census/rounds/<int:round_id>": (nobody, False),
    "POST /api/v1/census/visits": (gated(VISITORS, then=anyone), False),
    "GET /api/v1/census/visit-hours": (anyone, False),
    "POST /api/v1/census/import": (not_read_only, False),
    "GET /api/v1/census/export": (anyone, False),
    # The 楼栋长/组长 roster (api/census/heads.py): kept by the grid, the village and the town centre.
    "GET /api/v1/census/building-heads": (anyone, False),
    "POST /api/v1/census/building-heads": (gated(ROSTER, then=anyone), False),
    "PATCH /api/v1/census/building-heads/<int:head_id>": (gated(ROSTER, then=nobody), False),  # no such head
    # -- prevention work (api/prevention/routes.py) --
    "POST /api/v1/prevention/screening-lists": (not_read_only, False),
    "GET /api/v1/prevention/screening-lists": (anyone, False),
    "GET /api/v1/prevention/screening-lists/<int:list_id>": (nobody, False),
    "POST /api/v1/prevention/screening-lists/<int:list_id>/entries": (nobody, False),
    "PATCH /api/v1/prevention/screening-entries/<int:entry_id>": (nobody, False),
    "POST /api/v1/prevention/screening-entries/<int:entry_id>/escalate": (nobody, False),
    "GET /api/v1/prevention/changes": (anyone, False),
    "POST /api/v1/prevention/followup-plans": (not_read_only, False),
    "GET /api/v1/prevention/followup-plans": (anyone, False),
    "GET /api/v1/prevention/followup-plans/<int:plan_id>": (nobody, False),
    "POST /api/v1/prevention/followup-plans/<int:plan_id>/close": (nobody, False),
    "POST /api/v1/prevention/patrol-teams": (not_read_only, False),
    "GET /api/v1/prevention/patrol-teams": (anyone, False),
    "POST /api/v1/prevention/patrol-logs": (not_read_only, False),
    "GET /api/v1/prevention/patrol-logs": (anyone, False),
    "GET /api/v1/prevention/patrol-hours": (anyone, False),
    # -- community work (api/community/): rosters, events, contact cards, campaigns --
    "POST /api/v1/community/orgs": (not_read_only, False),
    "GET /api/v1/community/orgs": (anyone, False),
    "GET /api/v1/community/orgs/<int:org_id>": (nobody, False),
    "POST /api/v1/community/orgs/<int:org_id>/members": (nobody, False),
    "PATCH /api/v1/community/members/<int:member_id>": (nobody, False),
    "POST /api/v1/community/cases/<int:case_id>/appointments": (not_read_only, False),
    "GET /api/v1/community/cases/<int:case_id>/appointments": (case_read, True),
    "GET /api/v1/community/participations": (anyone, False),
    "POST /api/v1/community/events": (not_read_only, False),
    "GET /api/v1/community/events": (anyone, False),
    "GET /api/v1/community/events/<int:event_id>": (nobody, False),
    "POST /api/v1/community/events/<int:event_id>/issues": (nobody, False),
    "GET /api/v1/community/event-counts": (anyone, False),
    "POST /api/v1/community/contact-cards": (not_read_only, False),
    "GET /api/v1/community/contact-cards": (anyone, False),
    "GET /api/v1/community/contact-card-coverage": (anyone, False),
    "GET /api/v1/community/households-without-card": (anyone, False),
    "POST /api/v1/community/campaign-tags": (not_read_only, False),
    "GET /api/v1/community/campaign-tags": (anyone, False),
    "GET /api/v1/community/campaign-counts": (anyone, False),
    "GET /api/v1/community/activity-hours": (anyone, False),
    # -- statistics, dashboard and safety ratings (api/stats/routes.py) --
    "GET /api/v1/stats/kpis": (anyone, False),
    "GET /api/v1/stats/kpis.xlsx": (anyone, False),
    "GET /api/v1/stats/safety-ratings": (anyone, False),
    "GET /api/v1/stats/kpis/<string:kpi>/cases": (anyone, False),   # scoped: each sees the cases they may see
    "GET /api/v1/stats/reconciliation": (anyone, False),
    "GET /api/v1/stats/practice": (anyone, False),
    # -- census and intake extras --
    # -- designer support (validate, forms) --
    "POST /api/v1/definitions/validate": (deployers, False),
    "GET /api/v1/definitions/forms": (anyone, False),
    "GET /api/v1/definitions/forms/<key>": (nobody, False),  # <key> is filled with a process key: no such form
    "GET /api/v1/definitions/sla-keys": (deployers, False),
    "GET /api/v1/definitions/roles": (deployers, False),
    # -- case view support (trail, diagram) --
    "GET /api/v1/org/units": (anyone, False),  # your own subtree only (tests/test_case_list.py)
    "GET /api/v1/tasks/<task_id>": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/trail": (case_read, True),
    "GET /api/v1/cases/<int:case_id>/labels": (case_read, True),
    "GET /api/v1/tasks/counts": (anyone, False),
    # -- documents --
    "GET /api/v1/document-templates": (anyone, False),
    "GET /api/v1/cases/<int:case_id>/documents": (case_read, True),
    "POST /api/v1/cases/<int:case_id>/documents": (case_note, True),
    "GET /api/v1/documents/<int:document_id>": (case_read, True),
    "GET /api/v1/documents/<int:document_id>/pdf": (case_read, True),
    "POST /api/v1/documents/<int:document_id>/signed": (case_note, True),
    "GET /api/v1/tasks/<task_id>/documents": (case_read, True),
    "GET /api/v1/verify/<code>": (anyone, True),  # public: says nothing personal
}
# Self-service and people administration are covered route by route in tests/test_people*.py; here
# only their gate is checked (admin routes refuse everyone else).
ADMIN_PREFIX = "/api/v1/admin/"
SELF_SERVICE = {"POST /api/v1/auth/token", "POST /api/v1/auth/session", "DELETE /api/v1/auth/session",
                "POST /api/v1/auth/logout", "POST /api/v1/auth/password", "GET /api/v1/auth/tokens",
                "DELETE /api/v1/auth/tokens/<int:token_id>"}


# Intake routes authenticate outside systems by per-channel API keys, not users (tests/test_intake.py).
API_KEY_ROUTES = {"POST /api/v1/intake/<channel>", "GET /api/v1/intake/<channel>/<source_ref>"}
# The residents' routes (解纷码) are public: a one-time code proves a phone, a tracking code is the only key
# to a report, and a guessed one answers like an unknown one (tests/test_resident.py).
RESIDENT_ROUTES = {"GET /api/v1/resident/units/<unit_code>", "POST /api/v1/resident/codes",
                   "POST /api/v1/resident/reports", "GET /api/v1/resident/track/<tracking_code>",
                   "POST /api/v1/resident/track/<tracking_code>/rating"}


def api_routes(app) -> set[str]:
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_in_the_table(app):
    missing = {r for r in api_routes(app) - set(POLICIES) - SELF_SERVICE - API_KEY_ROUTES - RESIDENT_ROUTES
               if not r.split(" ", 1)[1].startswith(ADMIN_PREFIX)}
    assert not missing, f"add these routes to POLICIES: {sorted(missing)}"
    assert not set(POLICIES) - api_routes(app), "POLICIES names routes the app no longer has"


@pytest.fixture
def world(client, login):
    """A case (with a task and an attachment) in the grid user's grid, and one in another town."""
    designer = login("designer")
    files = [(io.BytesIO((FIXTURES / n).read_bytes()), n) for n in ("t_simple.bpmn", "t_register.schema.json")]
    files += [(io.BytesIO((DOCUMENTS / n).read_bytes()), n)
              for n in ("common.typ", "notice.typ", "notice.document.json")]
    assert client.post("/api/v1/definitions", headers=designer, data={"files": files},
                       content_type="multipart/form-data").status_code == 201
    made = {}
    for where, user, jurisdiction in (("in", "grid", None), ("out", "city", "/macheng/guishan/guishan-guifeng/")):
        body = {"process_key": "t_simple", "data": {"parties": [{"name": "甲", "phone": "13800000000"}]}}
        if jurisdiction:
            body["jurisdiction"] = jurisdiction
        case = client.post("/api/v1/cases", headers=login(user), json=body).get_json()
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 10
        attachment = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=login(user),
                                 data={"file": (io.BytesIO(png), "p.png")}, content_type="multipart/form-data").get_json()
        grid = "guishan-guifeng-g1" if jurisdiction else "songbu-yangjiawan-g1"
        person = client.post("/api/v1/census/people", headers=login(user), json={
            "grid": grid, "name": "乙", "id_no": "11010519491231002X" if jurisdiction else "420102199003071232"})
        assert person.status_code == 201, person.get_json()
        document = client.post(f"/api/v1/cases/{case['id']}/documents", headers=login(user), json={"kind": "notice"})
        assert document.status_code == 201, document.get_json()
        made[where] = {"case_id": case["id"], "task_id": case["tasks"][0]["id"], "attachment_id": attachment["id"],
                       "person_id": person.get_json()["id"], "document_id": document.get_json()["id"],
                       "code": document.get_json()["code"]}
    return made


# Routes whose role check needs a well-formed body to be reached (the body is validated first).
BODIES = {"/api/v1/census/people/search": {"id_no": "11010519491231002X"}}


def fill(rule: str, ids: dict) -> str:
    path = rule
    for name, value in (("<int:case_id>", ids.get("case_id")), ("<task_id>", ids.get("task_id")),
                        ("<int:attachment_id>", ids.get("attachment_id")), ("<int:notification_id>", 999999),
                        ("<int:person_id>", ids.get("person_id")), ("<int:round_id>", 999999), ("<int:head_id>", 999999),
                        ("<int:document_id>", ids.get("document_id")), ("<code>", ids.get("code")),
                        ("<key>", "t_simple"), ("<int:number>", 1), ("<string:kpi>", "resolved")):
        path = path.replace(name, str(value))
    if path.endswith("/history"):
        path += "?at=1"
    if path.endswith("/personal-data"):
        path += "?reason=authorization%20matrix"
    return path


@pytest.mark.parametrize("user", USERS)
def test_matrix(client, world, user):
    response = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    wrong = []
    for route, (policy, takes_object) in POLICIES.items():
        method, rule = route.split(" ", 1)
        for where in (("in", "out") if takes_object else ("in",)):
            expected = policy(user, where)
            kwargs = {"json": BODIES.get(rule, {})} if method in ("POST", "PATCH") and "attachments" not in rule and \
                rule != "/api/v1/definitions" else {}
            answer = client.open(fill(rule, world[where]), method=method, headers=headers, **kwargs)
            got = answer.status_code if answer.status_code in (DENY, HIDE) else PASS
            if answer.status_code >= 500 or got != expected:
                wrong.append(f"{route} [{where}] expected {expected}, got {answer.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("user", USERS)
def test_admin_routes_refuse_everyone_but_admins(client, app, user):
    response = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    for route in sorted(api_routes(app)):
        method, rule = route.split(" ", 1)
        if not rule.startswith(ADMIN_PREFIX) or method != "GET":
            continue
        answer = client.open(rule.replace("<int:unit_id>", "1").replace("<int:user_id>", "1"), method=method,
                             headers=headers)
        if user == "admin":
            assert answer.status_code == 200, route
        else:
            assert answer.status_code == 403, (route, answer.status_code)

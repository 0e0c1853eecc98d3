"""Schemathesis against the whole API, in process (WSGI), as the demo admin (every right, the whole
city): requests made from the OpenAPI, valid and invalid, must never answer 5xx, and every answer
must be what the OpenAPI says (a documented status, its content type, its schema).

Bounded and seeded (``derandomize``), so a run costs the same every time and a failure repeats; each
operation gets a fresh database (the ``app`` fixture). `make test` tries every operation with
FUZZ_EXAMPLES (default 5) examples; ``FUZZ_EXAMPLES=50 make test`` fuzzes deeper."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                status_code_conformance)

from api.core.config import Settings
from cunliao.app import create_app

# Every operation is fuzzed, with valid and invalid requests, whatever the number; more examples find
# rarer inputs, not more operations, and cost time linearly (20 was a quarter of `make test`).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _openapi() -> dict:
    """The contract as the app publishes it (building the app touches no database)."""
    app = create_app(Settings(database_url="sqlite://"))
    try:
        return app.test_client().get("/api/openapi.json").get_json()
    finally:
        app.extensions["cunliao"].db.dispose()


schema = schemathesis.openapi.from_dict(_openapi(), config=schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
    "phases": {"coverage": {"enabled": False}},
}))


@pytest.fixture
def admin(login):
    return login("admin")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract_under_fuzzing(case, app, admin):
    case.call_and_validate(app=app, headers=admin, checks=CHECKS)

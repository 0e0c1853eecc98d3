"""Migration 0026: on PostgreSQL (built with LZ4) a case's state, data and event payloads are
compressed with LZ4, which PostgreSQL does in a tenth of pglz's time; the values read back the same."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from engine.db import lz4_available
from engine.models import Case, CaseEvent
from tests.conftest import deploy

COLUMNS = {("cases", "state"), ("cases", "data"), ("case_events", "payload")}


def test_a_case_is_written_with_lz4_and_reads_back_unchanged(svc):
    with svc.db.write_engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("SQLite does not compress values")
        if not lz4_available(conn):
            pytest.skip("this PostgreSQL was built without LZ4: the migration keeps pglz")
        methods = set(conn.execute(text(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE a.attcompression = 'l' AND c.relname IN ('cases', 'case_events')")).all())
    assert COLUMNS <= {tuple(row) for row in methods}

    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    reporter = "，".join(f"张三第{n}次反映邻里宅基地纠纷" for n in range(400))  # large enough to be compressed
    view = svc.cases.start("t_simple", {"reporter": reporter}, "grid", "/macheng/")
    with svc.db.read() as session:
        compressed = session.execute(select(text("pg_column_compression(state)"), text("pg_column_compression(data)"))
                                     .select_from(Case).where(Case.id == view.case.id)).one()
        case = session.get(Case, view.case.id)
        payload = session.scalars(select(CaseEvent.payload).where(CaseEvent.case_id == case.id)).first()
    assert tuple(compressed) == ("lz4", "lz4")
    assert case.data["reporter"] == reporter and payload["data"]["reporter"] == reporter
    assert svc.cases.view(case.id).case.state == view.case.state

"""`cunliao audit …` on a real database: verify, export a bundle, verify it offline, anchors."""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from cunliao.cli import main

from .conftest import deploy

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


def run(monkeypatch, db_url, *args):
    monkeypatch.setenv("DATABASE_URL", db_url)
    return CliRunner().invoke(main, ["audit", *args], catch_exceptions=False)


def test_verify_export_bundle_and_anchor(svc, db_url, monkeypatch, tmp_path):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    first = svc.cases.start("t_simple", {}, "grid", VILLAGE)
    svc.cases.complete_task(first.tasks[0].id, {"summary": "邻里纠纷", "amount": 5000}, "grid")
    second = svc.cases.start("t_simple", {}, "grid", VILLAGE)

    result = run(monkeypatch, db_url, "verify", "--all")
    assert result.exit_code == 0 and "2 of 2 cases verified (3 events)" in result.output
    bundle = tmp_path / "bundle.json"
    assert run(monkeypatch, db_url, "export", first.case.case_no, "--out", str(bundle)).exit_code == 0
    anchor = tmp_path / "anchor.json"
    assert run(monkeypatch, db_url, "anchor", "--out", str(anchor)).exit_code == 0

    offline = run(monkeypatch, "sqlite:////nonexistent/dir/db.sqlite", "verify", "--bundle", str(bundle))
    assert offline.exit_code == 0 and "1 of 1 cases verified" in offline.output
    tampered = json.loads(bundle.read_text())
    tampered["events"][1]["actor"] = "mallory"
    bundle.write_text(json.dumps(tampered, ensure_ascii=False))
    offline = run(monkeypatch, db_url, "verify", "--bundle", str(bundle))
    assert offline.exit_code == 1 and f"FAIL {first.case.case_no}: event 2" in offline.output

    with svc.db.engine.begin() as conn:
        if svc.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER case_events_no_delete")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text("DELETE FROM case_events WHERE case_id = :c"), {"c": second.case.id})
        conn.execute(text("DELETE FROM case_tasks WHERE case_id = :c"), {"c": second.case.id})
        conn.execute(text("DELETE FROM cases WHERE id = :c"), {"c": second.case.id})
    result = run(monkeypatch, db_url, "verify", "--anchor", str(anchor))
    assert result.exit_code == 1 and f"case {second.case.case_no} was in the anchor" in result.output
    assert run(monkeypatch, db_url, "verify", "MC-00000000-0000").exit_code == 1


def test_every_case_is_read_in_batches_in_id_order(svc):
    from engine.verify import iter_cases

    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    started = [svc.cases.start("t_simple", {}, "grid", VILLAGE).case.case_no for _ in range(5)]
    with svc.db.read() as session:
        assert [c.case_no for c in iter_cases(session, batch=2)] == started  # 2 + 2 + 1
        assert [c.case_no for c in iter_cases(session, batch=5)] == started  # a full last batch
        assert [c.case_no for c in iter_cases(session, started[3:1:-1])] == started[2:4]

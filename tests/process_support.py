"""Helpers the process-library scenario tests share: read a case and its ready tasks, do a task."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from engine.models import Case, CaseTask

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "workflows" / "forms"


def ready(svc, case_id) -> list[CaseTask]:
    with svc.db.read() as session:
        return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                    .order_by(CaseTask.created_at, CaseTask.id)))


def case(svc, case_id) -> Case:
    with svc.db.read() as session:
        return session.get(Case, case_id)


def do(svc, case_id, element_id, data, role=None, unit=None, actor="tester"):
    """Complete the one ready task ``element_id`` (in ``unit``, when given) and check no incident."""
    tasks = [t for t in ready(svc, case_id) if t.element_id == element_id and (unit is None or t.jurisdiction == unit)]
    assert len(tasks) == 1, (element_id, unit, [(t.element_id, t.jurisdiction) for t in ready(svc, case_id)])
    if role:
        assert tasks[0].role == role, (element_id, tasks[0].role)
    view = svc.cases.complete_task(tasks[0].id, data, actor)
    assert view.case.status != "incident", view.case.incident
    return view


def example(form_key: str, **override):
    """A form's own example, with some fields overridden."""
    schema = json.loads((FORMS / f"{form_key}.schema.json").read_text(encoding="utf-8"))
    return {**schema["examples"][0], **override}

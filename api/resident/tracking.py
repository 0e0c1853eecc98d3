"""What a tracking code shows a resident, and their rating once the case is closed.

Only this case, and nothing personal about anyone: the stage, the open step's unit, role and
deadline (never a staff name), the outcome in plain words, and the documents meant for the parties.
An unknown code and a guessed one get the same answer as any other unknown code (None → one 404).
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from api.core.models import OrgUnit, User, UserRole
from api.core.problems import ApiProblem
from api.documents.models import Document
from engine.models import Case, CaseTask
from engine.store import insert_once

from .models import ResidentRating, ResidentReport
from .rules import MARKUP

GRID_WORKER = "grid_worker"
RATINGS = ("满意", "基本满意", "不满意")
# Documents a party is given (the others are the office's own records).
FOR_PARTIES = ("agreement", "notice")
FINAL_CLOSURES = ("closed_resolved", "closed_transferred", "closed_unresolved")
# dispute_intake's registration steps (and one_key_response's answers)
REGISTER_STEPS = ("register", "register_village", "register_onekey", "register_onekey_head")
STAGES = {"received": "已收到，等待网格员受理", "accepted": "已受理，正在办理", "closed": "已办结",
          "merged": "已并入同一事项的在办案件", "withdrawn": "未受理"}
OUTCOMES = {"closed_resolved": "调解成功，纠纷已化解", "closed_transferred": "已引导通过法律途径解决（如法院、仲裁、行政部门）",
            "closed_unresolved": "经调解未能达成一致", "guided": "不属于调解范围或一方不同意调解，已告知依法解决的途径",
            "merged": "与在办案件是同一件事，已合并办理"}


def find(db, tracking_code: str) -> ResidentReport | None:
    if not tracking_code or len(tracking_code) > 64:
        return None
    digest = hashlib.sha256(tracking_code.strip().upper().encode()).hexdigest()
    with db.read() as session:
        report = session.scalars(select(ResidentReport).where(ResidentReport.tracking_hash == digest)).first()
        if report is not None:
            session.expunge(report)
        return report


def stage(case: Case, tasks: list[CaseTask]) -> str:
    data = case.data or {}
    if case.status == "cancelled":
        return "withdrawn"
    if data.get("intake_result") == "merged":
        return "merged"
    # Closed once the closure is final: the 90-day recurrence watch after it keeps the case open.
    if case.status == "completed" or data.get("closure_state") in FINAL_CLOSURES:
        return "closed"
    if any(t.element_id in REGISTER_STEPS and t.state == "completed" for t in tasks):
        return "accepted"
    return "received"


def view(svc, report: ResidentReport) -> dict[str, Any]:
    with svc.db.read() as session:
        case = session.get(Case, report.case_id)
        tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)
                                     .order_by(CaseTask.created_at, CaseTask.id)))
        units = dict(session.execute(select(OrgUnit.path, OrgUnit.name)).all())
        documents = list(session.scalars(select(Document).where(
            Document.case_id == case.id, Document.kind.in_(FOR_PARTIES)).order_by(Document.id)))
        rating = session.scalars(select(ResidentRating).where(ResidentRating.report_id == report.id)).first()
        contacts = _contact_cards(session, case)
    current = stage(case, tasks)
    roles = {entry["code"]: entry.get("zh", entry["code"]) for entry in svc.roles.entries}
    accepted = next((t.closed_at for t in tasks if t.element_id in REGISTER_STEPS and t.state == "completed"), None)
    data = case.data or {}
    outcome = {"closed": data.get("closure_state") if data.get("closure_state") in OUTCOMES else data.get("intake_result"),
               "merged": "merged"}.get(current)
    latest = {}
    for document in documents:  # the latest version of each document
        latest[(document.kind, document.seq, document.year)] = document
    return {
        "case_no": case.case_no, "stage": current, "stage_text": STAGES[current],
        "category": data.get("category") or "", "received_at": report.created_at, "accepted_at": accepted,
        "closed_at": _closed_at(case, tasks) if current == "closed" else None,
        "steps": [{"name": t.name, "unit": _unit_name(units, t.jurisdiction), "role": roles.get(t.role, "工作人员"),
                   "due_at": t.due_at} for t in tasks if t.state == "ready"],
        "outcome": OUTCOMES.get(outcome) if outcome else None,
        "contacts": contacts if current in ("received", "accepted") else [],
        "documents": [{"title": d.title, "number": d.number, "issued_at": d.issued_at, "verify_code": d.code}
                      for d in latest.values()],
        "can_rate": current in ("closed", "merged") and rating is None,
        "rating": {"rating": rating.rating, "comment": rating.comment, "rated_at": rating.rated_at} if rating else None,
    }


def rate(svc, report: ResidentReport, rating: str, comment: str) -> None:
    """The resident's rating, once, after closure."""
    if rating not in RATINGS:
        raise ApiProblem(422, "rating must be 满意, 基本满意 or 不满意", "请选择 满意、基本满意 或 不满意",
                         errors={"rating": "请选择一项"})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ApiProblem(422, "comment too long", "意见最多 500 个字", errors={"comment": "最多 500 个字"})
    if MARKUP.search(comment):
        raise ApiProblem(422, "markup in comment", "请只填写文字，不要包含网页代码",
                         errors={"comment": "请只填写文字，不要包含网页代码"})
    with svc.db.read() as session:
        case = session.get(Case, report.case_id)
        tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)))
    if stage(case, tasks) not in ("closed", "merged"):
        raise ApiProblem(409, "the case is not closed yet", "事情办结后才能评价")
    with svc.db.write_engine.begin() as conn:
        stored = insert_once(conn, ResidentRating.__table__, {
            "report_id": report.id, "case_id": report.case_id, "rating": rating, "comment": comment,
            "rated_at": svc.clock.now()}, ["report_id"])
    if stored is None:
        raise ApiProblem(409, "already rated", "您已经评价过了，谢谢")


def _contact_cards(session, case: Case) -> list[dict[str, Any]]:
    """The grid worker's public card (网格员公示牌: name and work number), the one person the practice
    names to residents: the 首办负责人 once a grid worker has signed for the case, else the workers of
    the case's grid. Nobody else's name reaches this page."""
    workers = (select(User.display_name, User.service_phone).join(UserRole, UserRole.user_id == User.id)
               .where(User.active.is_(True), UserRole.role_code == GRID_WORKER).order_by(User.username))
    handler = list(session.execute(workers.where(User.username == case.first_handler))) if case.first_handler else []
    rows = handler or list(session.execute(workers.join(OrgUnit, OrgUnit.id == User.unit_id)
                                           .where(OrgUnit.path == case.jurisdiction).limit(3)))
    return [{"name": name, "role": "网格员", "phone": phone or None} for name, phone in rows]


def _closed_at(case: Case, tasks: list[CaseTask]):
    """When the closure became final: the last completed step (archiving sets the closure state)."""
    done = [t.closed_at for t in tasks if t.state == "completed" and t.closed_at]
    return case.completed_at or (max(done) if done else case.updated_at)


def _unit_name(units: dict[str, str], path: str) -> str:
    """The unit's name with its parents below the city (宋埠镇杨家湾村第一网格)."""
    parts = [p for p in path.strip("/").split("/")]
    names = [units.get("/" + "/".join(parts[:i]) + "/") for i in range(2, len(parts) + 1)]
    return "".join(n for n in names if n) or units.get(path, "")

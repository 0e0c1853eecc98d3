"""Milestone texts to residents: when their report is received (the text with the tracking link),
accepted, closed (or merged, or not taken up), the timer worker sends one SMS through the resident
gateway.

Only reports whose case moved on since the last look are read (``told_version``). Delivery is at
least once: a worker that dies after sending but before recording sends again, with the same
``Idempotency-Key`` (report and milestone) for the gateway to drop the repeat.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update

from engine.models import Case, CaseTask

from .models import ResidentReport
from .sms import SmsGateway
from .tracking import stage

log = logging.getLogger(__name__)
TEXTS = {"received": "已收到，网格员会尽快与您联系", "accepted": "已受理，正在办理", "closed": "已办结，欢迎您对办理情况进行评价",
         "merged": "与在办案件是同一件事，已合并办理", "withdrawn": "未予受理"}


def tell_milestones(svc, gateway: SmsGateway, limit: int = 100) -> int:
    """Send the texts of reports whose case reached a new milestone; returns how many were sent."""
    with svc.db.read() as session:
        rows = list(session.execute(select(ResidentReport, Case).join(Case, Case.id == ResidentReport.case_id)
                                    .where(Case.version > ResidentReport.told_version)
                                    .order_by(ResidentReport.id).limit(limit)))
        session.expunge_all()
    sent = 0
    for report, case in rows:
        with svc.db.read() as session:
            tasks = list(session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)))
        now_stage = stage(case, tasks)
        if now_stage != report.told_stage and now_stage in TEXTS:
            phone = svc.vault.unseal(report.sealed["phone"])
            tracking = svc.vault.unseal(report.sealed["tracking"])
            message = (f"【村了】您反映的事项（{case.case_no}）{TEXTS[now_stage]}。"
                       f"查看进度：{svc.settings.public_url}/r/t/{tracking}")
            if not gateway.send(phone, now_stage, message, f"resident-{report.id}-{now_stage}"):
                continue  # the gateway refused: the next round tries again
            sent += 1
        table = ResidentReport.__table__
        with svc.db.write_engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == report.id, table.c.told_version == report.told_version)
                         .values(told_version=case.version, told_stage=now_stage))
    return sent

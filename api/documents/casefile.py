"""The case file (一案一卷): the timeline of a closed case told in words, and the documents it holds.

The case file's template gets the documents as PDF files to embed page by page (the latest version
of each number) and the audit log as a timeline: who did what, when — the same story the case page
tells, in Chinese, with the chain head that seals it.
"""
from __future__ import annotations

from typing import Any

from .casedata import chinese_datetime

MAX_DETAIL = 300
# What each event says in the timeline; {step} is the step's name on the diagram.
EVENT_WORDS = {
    "case_started": "登记立案",
    "task_completed": "完成「{step}」",
    "task_claimed": "领取「{step}」",
    "task_unclaimed": "退回「{step}」至待办池",
    "task_delegated": "委派「{step}」",
    "task_delegation_resolved": "交回「{step}」",
    "task_recalled": "收回「{step}」",
    "task_reassigned": "转办「{step}」",
    "task_returned": "退回至「{step}」",
    "task_urged": "催办「{step}」",
    "task_copied": "抄送「{step}」",
    "task_skipped": "跳过「{step}」",
    "comment_added": "添加备注",
    "attachment_added": "上传附件",
    "personal_data_viewed": "查看当事人完整信息",
    "mediator_appointed": "选派自治组织成员参与调解",
    "document_issued": "制作文书",
    "document_signed": "上传签署件",
    "case_suspended": "中止办理",
    "case_resumed": "恢复办理",
    "case_cancelled": "撤销案件",
    "timer_fired": "期限届满，流程自动推进",
    "message_sent": "发出消息",
    "message_delivered": "收到消息",
    "data_corrected": "更正案件数据",
    "case_retried": "重试失败步骤",
    "case_rewound": "回退案件",
    "case_migrated": "迁移至新版本流程",
}


def step_names(loaded) -> dict[str, str]:
    """Element id → name, from the case's process and the processes it calls."""
    names: dict[str, str] = {}
    for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and getattr(task_spec, "bpmn_name", None):
                names.setdefault(bpmn_id, task_spec.bpmn_name)
    return names


def timeline(events, names: dict[str, str], people: dict[str, str]) -> list[dict[str, Any]]:
    """[{seq, at, who, what, detail}] for every event, oldest first."""
    rows = []
    for event in events:
        payload = event.payload or {}
        element = (payload.get("task") or {}).get("element_id") or payload.get("element_id") \
            or payload.get("to_element")
        what = EVENT_WORDS.get(event.type, event.type).format(step=names.get(element, element or ""))
        who = "系统" if event.actor in ("timer", "system", "") else people.get(event.actor, event.actor)
        rows.append({"seq": event.seq, "at": chinese_datetime(event.at), "who": who, "what": what,
                     "detail": _detail(event.type, payload)[:MAX_DETAIL]})
    return rows


def _detail(kind: str, payload: dict[str, Any]) -> str:
    if kind == "document_issued":
        document = payload.get("document") or {}
        return f"{document.get('title', '')} {document.get('number', '')} 第{document.get('version', 1)}版"
    if kind == "document_signed":
        return f"{payload.get('number', '')} 签署件 {payload.get('filename', '')}"
    if kind == "attachment_added":
        return payload.get("filename", "")
    if kind in ("message_sent", "message_delivered"):
        return payload.get("name", "")
    if kind == "mediator_appointed":
        return f"{payload.get('organisation', '')} {payload.get('member', '')}（{payload.get('role', '')}）"
    return payload.get("reason") or payload.get("text") or payload.get("message") or payload.get("note") or ""

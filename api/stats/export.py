"""The statistics as an Excel workbook (统计, 对账, 口径说明)."""
from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from .facts import RATES

# --- Excel --------------------------------------------------------------------------------------

COLUMNS = (("screened", "排查数"), ("cases", "纠纷案件数"), ("leads", "苗头线索数"), ("resolved", "化解数"),
           ("resolution_rate", "化解率"), ("transferred", "依法导入数"), ("closed", "办结数"),
           ("closed_on_time", "按期办结数"), ("on_time_rate", "按期办结率"), ("revisited", "回访数"),
           ("satisfied", "满意数"), ("satisfaction_rate", "满意率"), ("overdue_cases", "超期案件数"),
           ("overdue_tasks", "超期任务数"), ("repeats", "反复纠纷数"), ("one_key_calls", "一键呼叫数"),
           ("one_key_in_time", "按时响应数"), ("one_key_rate", "即呼即应率"),
           ("one_key_response_seconds", "平均响应秒数"), ("first_signed", "首办已签收数"),
           ("first_signed_on_time", "首办按时签收数"), ("first_sign_rate", "首办按时签收率"),
           ("resident_rated", "群众评价数（解纷码）"), ("resident_satisfied", "群众满意数（解纷码）"),
           ("resident_satisfaction_rate", "群众满意率（解纷码）"), ("red_cases", "红色案件数"),
           ("leader_cases", "领导包案数"), ("red_revisits", "红色案件每周回访次数"))
GROUP_TITLES = {"town": "乡镇", "village": "村(社区)", "category": "纠纷类型", "channel": "来源渠道", "month": "月份",
                None: "范围"}


def workbook(result: dict[str, Any], group_by: str | None, caption: str,
             reconciliation: dict[str, Any] | None = None) -> bytes:
    """The KPI table as an .xlsx workbook with Chinese headers, a 合计 row, the reconciliation of
    the same cases and the definitions."""
    book = Workbook()
    sheet = book.active
    sheet.title = "统计"
    sheet.append([caption])
    sheet.append([GROUP_TITLES[group_by]] + [title for _, title in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for group in result["groups"]:
        sheet.append([group["label"]] + [group[name] for name, _ in COLUMNS])
    sheet.append(["合计"] + [result["totals"][name] for name, _ in COLUMNS])
    for row in sheet.iter_rows(min_row=3):
        for cell, (name, _) in zip(row[1:], COLUMNS):
            if name in RATES:
                cell.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 22
    if reconciliation is not None:
        _reconciliation_sheet(book, reconciliation)
    notes = book.create_sheet("口径说明")
    for line in DEFINITIONS:
        notes.append(list(line))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _reconciliation_sheet(book, report: dict[str, Any]) -> None:
    """对账: every registered dispute in one part, the parts, their sum and the duplicates."""
    sheet = book.create_sheet("对账")
    sheet.append(["组成部分", "件数", "计入排查数"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for part in report["parts"]:
        sheet.append([part["label"], part["count"], "是" if part["counted"] else "否"])
    sheet.append(["登记总数（各部分合计）", report["total"], ""])
    sheet.append(["其中排查数", report["screened"], ""])
    sheet.append(["是否平衡", "是" if report["balanced"] else "否", ""])
    sheet.append([])
    sheet.append(["重复登记与并入的线索", "类别", "并入的案件"])
    for row in report["duplicates"]:
        sheet.append([row["case_no"], row["label"], row["of"]])
    sheet.column_dimensions["A"].width = 26


DEFINITIONS = (
    ("指标", "口径"),
    ("排查数", "期间内登记的纠纷案件数 + 未转案、未关联、非误报的苗头线索数（不含作废案件和合并的重复登记）"),
    ("化解数", "上述案件中已以“化解”结案的案件数 + 解除监测的线索数"),
    ("化解率", "化解数 ÷ 排查数"),
    ("依法导入数", "引导诉讼、仲裁、信访等法定途径结案的案件数 + 移交公安的紧急线索数（不计入化解数）"),
    ("按期办结率", "按期办结数 ÷ 办结数；按期指该案每个环节均在时限内完成"),
    ("满意率", "（满意 + 基本满意）÷ 已回访并记录满意度的案件数"),
    ("超期任务数", "截至统计时已超过办理时限仍未完成的任务数"),
    ("统计口径", "按登记日期（北京时间）选取案件，指标反映这些案件截至统计时的状态"),
    ("反复纠纷数", "与此前 90 日内登记的另一纠纷案件有相同当事人（身份证号）的案件数"),
    ("即呼即应率", "一键呼叫在响应时限内完成响应登记的件数 ÷ 一键呼叫件数"),
    ("首办按时签收率", "接收层级均在签收时限内签收（首办负责制）的案件数 ÷ 已签收的案件数；签收人为首办负责人"),
    ("对账", "期间内登记的全部案件和线索逐件归入一类：化解、依法导入、办结未化解、在办、重复登记并入、线索转案、线索并入、误报、作废；各类之和等于登记总数"),
)


def label_periods(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start.isoformat()} 至 {end.isoformat()}"
    if start:
        return f"{start.isoformat()} 起"
    if end:
        return f"截至 {end.isoformat()}"
    return "全部期间"

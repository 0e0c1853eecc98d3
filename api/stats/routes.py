"""Statistics (统计): KPIs by town, village, category, channel or month, their Excel export, and the
safety ratings. Every figure is limited to the caller's jurisdiction; an ``area`` outside it
answers 404. Definitions: docs/statistics.md."""
from __future__ import annotations

import logging

from flask import Response
from flask_smorest import Blueprint

from api.core import auth
from api.core.problems import ApiProblem
from api.core.services import services

from . import service as stats
from .schemas import KpiQuery, KpiResult, RatingQuery, RatingResult

log = logging.getLogger(__name__)

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="Statistics and safety ratings (统计)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kpis(query) -> dict:
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        area = stats.area_path(session, principal, query["area"])
        filters = stats.window(query["from_"], query["to"], area)
        return stats.kpis(session, principal, filters, svc.clock.now(), query["group_by"])


@blp.get("/kpis")
@blp.arguments(KpiQuery, location="query")
@blp.response(200, KpiResult)
def get_kpis(query):
    """排查数, 化解数/率, 按期办结率, 满意率 and overdue counts of cases registered in the period,
    in total and per group."""
    return _kpis(query)


@blp.get("/kpis.xlsx")
@blp.arguments(KpiQuery, location="query")
@blp.response(200, description="the same figures as an .xlsx workbook with Chinese headers", content_type=XLSX)
def export_kpis(query):
    result = _kpis(query)
    caption = f"矛盾纠纷排查化解统计（登记日期：{stats.label_periods(query['from_'], query['to'])}）"
    content = stats.workbook(result, query["group_by"], caption)
    name = f"stats-{query['group_by'] or 'total'}.xlsx"
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.get("/safety-ratings")
@blp.arguments(RatingQuery, location="query")
@blp.response(200, RatingResult)
def get_safety_ratings(query):
    """Each village (平安村(社区)) or town (平安乡镇) of your area with its KPIs for the period, the rules
    of workflows/safety_ratings.json it met and failed, and its rating."""
    principal = auth.current()
    svc = services()
    try:
        versions = stats.load_rules(svc.settings.workflows_dir)
    except stats.RatingRulesInvalid as exc:
        log.error("%s", exc)
        raise ApiProblem(503, str(exc), "平安评定规则配置有误，请联系管理员修正 workflows/safety_ratings.json") from exc
    with svc.db.read() as session:
        area = stats.area_path(session, principal, query["area"])
        return stats.safety_ratings(session, principal, query["period"], query["level"], area, versions,
                                    svc.clock.now())

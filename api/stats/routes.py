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

from api.cases.routes import case_page
from engine.models import Case

from . import drilldown, export, practice, reconcile
from . import service as stats
from .schemas import (DrillPage, DrillQuery, KpiQuery, KpiResult, PracticeResult, RatingQuery, RatingResult,
                      Reconciliation, ReconcileQuery, WindowQuery)

log = logging.getLogger(__name__)

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats", description="Statistics and safety ratings (统计)")

WHISTLES = "whistles"  # a department's whistles (GET /practice): its drill-down needs ``dept``
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kpis(query) -> dict:
    principal = auth.current()
    svc = services()
    with svc.db.report() as session:
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


@blp.get("/kpis/<string:kpi>/cases")
@blp.arguments(DrillQuery, location="query")
@blp.response(200, DrillPage)
def get_kpi_cases(query, kpi):
    """The cases behind a KPI figure, with the KPI's filters (``from``, ``to``, ``area``) and, for a
    group of the answer, ``group_by`` and ``key``: ``figure`` equals the KPI's figure and the
    listed cases' ``weight`` add up to it. A rate lists its numerator's cases."""
    principal = auth.current()
    svc = services()
    with svc.db.report() as session:
        area = stats.area_path(session, principal, query["area"])
        filters = stats.window(query["from_"], query["to"], area)
        # One run of the KPI's query: the figure is the weights' sum, the page a slice of the ids.
        if kpi == WHISTLES:
            if not query["dept"]:
                raise ApiProblem(422, "kpi=whistles needs dept", "请指定部门", errors={"dept": "请指定部门"})
            weights = practice.whistled(session, principal, filters, query["dept"])
        else:
            weights = drilldown.weights(session, principal, filters, svc.clock.now(), kpi, query["group_by"],
                                        query["key"])
    page, size = query["page"], query["page_size"]
    ids = sorted(weights, reverse=True)[(page - 1) * size:page * size]  # newest first, as the case list
    listed = case_page([Case.id.in_(ids)], 1, size) if ids else {"items": []}
    for item in listed["items"]:
        item["weight"] = weights[item["id"]]
    name = kpi if kpi == WHISTLES else drilldown.counted_kpi(kpi)
    return {"items": listed["items"], "total": len(weights), "page": page, "page_size": size, "kpi": kpi,
            "counted_kpi": name, "label": drilldown.LABELS[name], "figure": sum(weights.values())}


@blp.get("/kpis.xlsx")
@blp.arguments(KpiQuery, location="query")
@blp.response(200, description="the same figures as an .xlsx workbook with Chinese headers", content_type=XLSX)
def export_kpis(query):
    result = _kpis(query)
    caption = f"矛盾纠纷排查化解统计（登记日期：{export.label_periods(query['from_'], query['to'])}）"
    principal = auth.current()
    svc = services()
    with svc.db.report() as session:
        filters = stats.window(query["from_"], query["to"], stats.area_path(session, principal, query["area"]))
        report = reconcile.reconcile(session, principal, filters, svc.clock.now())
    content = export.workbook(result, query["group_by"], caption, report)
    name = f"stats-{query['group_by'] or 'total'}.xlsx"
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.get("/reconciliation")
@blp.arguments(ReconcileQuery, location="query")
@blp.response(200, Reconciliation)
def get_reconciliation(query):
    """Every dispute case and lead registered in the period (``period`` YYYY or YYYY-MM, or
    ``from``/``to``) in exactly one part — resolved, transferred, closed unresolved, open, merged
    duplicate, lead converted, lead linked, false alarm, cancelled — with the duplicates listed."""
    principal = auth.current()
    svc = services()
    with svc.db.report() as session:
        area = stats.area_path(session, principal, query["area"])
        if query.get("period"):
            filters = stats.period_filters(query["period"], area)
        else:
            filters = stats.window(query["from_"], query["to"], area)
        return reconcile.reconcile(session, principal, filters, svc.clock.now())


@blp.get("/practice")
@blp.arguments(WindowQuery, location="query")
@blp.response(200, PracticeResult)
def get_practice(query):
    """Visit hours per grid worker against 4 h a day, census round completion per grid (应排尽排),
    and whistle response and scores per department, for the window and area."""
    principal = auth.current()
    svc = services()
    with svc.db.report() as session:
        filters = stats.window(query["from_"], query["to"], stats.area_path(session, principal, query["area"]))
        return {"visit_hours": practice.visit_hours(session, principal, filters),
                "census_rounds": practice.census_rounds(session, principal, filters),
                "departments": practice.departments(session, principal, filters)}


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
    with svc.db.report() as session:
        area = stats.area_path(session, principal, query["area"])
        return stats.safety_ratings(session, principal, query["period"], query["level"], area, versions,
                                    svc.clock.now())

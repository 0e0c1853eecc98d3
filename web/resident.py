"""The residents' pages (解纷码): report a dispute from a phone, follow it, rate it; and the admin's
printable QR posters. Rendered on the server as plain HTML forms: no script at all, so they work on
a slow line and an old phone; no account, no session (a one-time code proves the phone, the tracking
code is the only key to a report). They call the same service functions as /api/v1/resident."""
from __future__ import annotations

import segno
from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select

from api.core import auth
from api.core.models import OrgUnit
from api.core.problems import ApiProblem
from api.core.services import services
from api.documents.casedata import chinese_datetime
from api.resident import codes, routes as resident_api, service, tracking
from api.resident.rules import rules

from .pages import page, render_page

bp = Blueprint("resident_pages", __name__, template_folder="templates")


def _render(template: str, status: int = 200, **context):
    return render_template(template, chinese_datetime=chinese_datetime, **context), status


@bp.route("/r/<unit_code>", methods=["GET", "POST"])
def report(unit_code: str):
    """The page a QR code opens. One form, two buttons: 获取验证码 sends the code and shows the form
    again as filled in; 提交 checks everything and starts the case."""
    svc = services()
    try:
        unit = resident_api.unit_info(unit_code)
    except ApiProblem as problem:
        return _render("resident_gone.html", 404, message=problem.message)
    values, errors, notice, status = dict(request.form), {}, "", 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "code":
                sms = resident_api.gateway()
                phone = codes.normal_phone(request.form.get("phone", "")[:30])
                codes.request_code(svc, sms, rules(svc.settings).limits, phone, auth.client_ip())
                notice = resident_api.code_sent_message(sms)
            else:
                done = service.submit(svc, rules(svc.settings), resident_api.submission_from_request(),
                                      auth.client_ip())
                return redirect(url_for("resident_pages.track", tracking_code=done.tracking_code, new=1), 303)
        except ApiProblem as problem:
            errors = dict(problem.extra.get("errors") or {}) or {"form": problem.message}
            errors.setdefault("form", problem.message)
            status = problem.status
    return _render("resident_report.html", status, unit=unit, values=values, errors=errors, notice=notice,
                   limits=rules(svc.settings).limits)


@bp.route("/r/t/<tracking_code>", methods=["GET", "POST"])
def track(tracking_code: str):
    svc = services()
    found = tracking.find(svc.db, tracking_code[:64])
    if found is None:
        return _render("resident_gone.html", 404, message=resident_api.NOT_FOUND)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            tracking.rate(svc, found, request.form.get("rating", "")[:10], request.form.get("comment", "")[:2000])
            return redirect(url_for("resident_pages.track", tracking_code=tracking_code, rated=1), 303)
        except ApiProblem as problem:
            errors = {**(problem.extra.get("errors") or {}), "form": problem.message}
            status = problem.status
    return _render("resident_track.html", status, view=tracking.view(svc, found), code=tracking_code.upper(),
                   new=request.args.get("new") == "1", rated=request.args.get("rated") == "1", errors=errors,
                   values=dict(request.form), ratings=tracking.RATINGS)


@bp.get("/admin/resident-posters")
@page("admin")
def posters():
    """Every village and grid, each with its printable poster."""
    with services().db.read() as session:
        units = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path)
                                .where(OrgUnit.kind.in_(("village", "grid"))).order_by(OrgUnit.path)).all()
    return render_page("resident_posters.html", "resident_admin", "解纷码海报",
                       units=[{"code": u.code, "name": u.name, "kind": u.kind, "depth": u.path.count("/")}
                              for u in units])


@bp.get("/admin/resident-posters/<unit_code>")
@page("admin")
def poster(unit_code: str):
    """A poster to print and put up in the village (or send by the grid worker): the QR code opens
    the report page with the village or grid preset."""
    svc = services()
    unit = service.reporting_unit(svc.db, unit_code)
    if unit is None:
        return render_page("error.html", "error", "未找到", message="没有这个村或网格"), 404
    url = f"{svc.settings.public_url}/r/{unit['code']}"
    qr = segno.make(url, error="m").svg_data_uri(scale=10, border=2)
    return render_page("resident_poster.html", "resident_admin", f"解纷码 · {unit['name']}", unit=unit, url=url,
                       qr=qr)

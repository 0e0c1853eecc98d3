"""Page routes. Each page is a Jinja shell (header, navigation, containers) plus one script bundle
from static/dist that reads and writes through /api/v1 with the session cookie. The pages hold no
business rules and no data the API would not give the same user."""
from __future__ import annotations

import hashlib
import unicodedata
from functools import wraps
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _

from api.core import auth
from api.core.problems import ApiProblem
from api.community.models import catalogue as community_catalogue
from api.core.services import services
from api.documents.casedata import chinese_datetime
from api.documents.service import verification

from . import i18n

STATIC = Path(__file__).parent / "static"
bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static")

# Who sees which screen in the navigation, and may open it.
# 楼栋长/组长 (building_head) answer one-key calls in their inbox.
STAFF = ("grid_worker", "building_head", "village_mediator", "village_secretary", "town_officer", "town_director",
         "justice_officer", "police_liaison", "department_liaison", "city_officer", "city_director", "leader", "admin")
DESIGNERS = ("designer", "admin")
AUDITORS = ("auditor", "admin")
WATCHERS = ("leader", "city_director", "city_officer", "town_director", "town_officer", "auditor", "admin")
CENSUS = ("grid_worker", "village_mediator", "village_secretary", "town_officer", "town_director", "city_officer",
          "city_director", "leader", "admin")
TOWN_CENTRE = ("town_officer", "town_director")
NAV = (  # endpoint, label, roles
    ("web.led_cases", "My led cases", ("leader",)),
    ("web.inbox", "Inbox", STAFF),
    ("web.cases", "Cases", STAFF + AUDITORS),
    ("web.village_cases", "Village-handled cases", TOWN_CENTRE),
    ("web.census", "Census", CENSUS),
    ("web.prevention", "Prevention", CENSUS),
    ("web.community", "Community", CENSUS),
    ("web.dashboard", "Dashboard", WATCHERS),
    ("web.designer", "Designer", DESIGNERS),
    ("web.audit", "Audit", AUDITORS),
    ("web.admin_users", "Users", ("admin",)),
)
# Where a sign-in without a target lands, by role, before the first screen of the navigation: the
# leader on the cases in their charge, the auditor on the audit list (not the case list, which comes
# first in the navigation), the department liaison on the inbox of its whistled cases.
HOMES = (("leader", "web.led_cases"), ("department_liaison", "web.inbox"), ("auditor", "web.audit"),
         ("designer", "web.designer"))


def page(*allowed: str):
    """Sign-in (the session cookie) and, when given, one of the roles; otherwise the login page or 403."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                principal = auth.authenticate()
            except ApiProblem as problem:
                if problem.status == 403 and getattr(problem, "code", None) == "must_change_password":
                    return redirect(url_for("web.login", password="1", next=request.full_path))
                return redirect(url_for("web.login", next=request.full_path))
            g.principal = principal
            if allowed and not principal.has_role(*allowed):
                return render_page("error.html", "error", _("Not allowed"),
                                   message=_("Your role may not open this page.")), 403
            return view(*args, **kwargs)
        return wrapper
    return decorate


def render_page(template: str, script: str, title: str, **params):
    principal = g.get("principal")
    svc = services()
    roles = {entry["code"]: entry for entry in svc.roles.entries}
    lang = i18n.current_language()
    context = {
        "user": principal and {
            "username": principal.username, "display_name": principal.display_name, "unit_path": principal.unit_path,
            "unit_name": principal.unit_name, "roles": sorted(principal.roles),
            "role_names": [roles.get(code, {}).get("zh" if lang == "zh_CN" else "en", code)
                           for code in sorted(principal.roles)]},
        "params": params,
        "lang": lang,
        "strings": i18n.script_strings(current_app),
    }
    nav = [(endpoint, label) for endpoint, label, who in NAV if principal and principal.has_role(*who)]
    return render_template(template, script=script, title=title, page_data=context, nav=nav,
                           asset_version=asset_version(), bundle_ready=(STATIC / "dist" / f"{script}.js").exists())


def asset_version() -> str:
    """Changes whenever the bundle does, so browsers never run yesterday's script against today's API."""
    cached = current_app.extensions.get("cunliao_asset_version")
    if cached is None:
        digest = hashlib.sha256()
        for path in sorted((STATIC / "dist").glob("*.js")):
            digest.update(path.name.encode())
            digest.update(str(path.stat().st_mtime_ns).encode())
        cached = current_app.extensions["cunliao_asset_version"] = digest.hexdigest()[:10]
    return cached


@bp.after_request
def cache_bundles(response):
    """Chunks and assets have content hashes in their names and entries a version query: browsers may
    keep them; a phone on a slow line then loads the inbox's script once."""
    if request.endpoint == "web.static" and response.status_code == 200 and (
            request.args.get("v") or "/dist/chunks/" in request.path or "/dist/assets/" in request.path):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = 365 * 24 * 3600
        response.cache_control.immutable = True
    return response


@bp.get("/")
@page()
def home():
    """The user's own home (HOMES), else the first screen of the navigation they may open: the brand
    link and "back to the start page" never lead to a page the user may not open."""
    for role, endpoint in HOMES:
        if g.principal.has_role(role):
            return redirect(url_for(endpoint))
    for endpoint, _label, who in NAV:
        if g.principal.has_role(*who):
            return redirect(url_for(endpoint))
    return render_page("error.html", "error", _("Not allowed"), message=_("Your role may not open this page.")), 403


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it whatever the page says; the same SVG the pages link to."""
    return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml", max_age=7 * 24 * 3600)


@bp.get("/login")
def login():
    return render_page("login.html", "login", _("Sign in"), next=safe_next(request.args.get("next")),
                       change_password=request.args.get("password") == "1")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host. Browsers drop tabs and
    newlines from a URL and read a backslash as a slash, so ``/\t/evil.example`` and ``/\\evil.example``
    lead off-site; each layer of percent-decoding is checked too (``/%2F/evil.example``)."""
    return target if target and _same_site_path(target) else url_for("web.home")


def _same_site_path(target: str) -> bool:
    layer = target
    for _ in range(3):
        if (not layer.startswith("/") or layer.startswith("//") or "\\" in layer
                or any(unicodedata.category(c) in ("Cc", "Cf") for c in layer)):
            return False
        parts = urlsplit(layer)
        if parts.scheme or parts.netloc:
            return False
        decoded = unquote(layer)
        if decoded == layer:
            return True
        layer = decoded
    return False  # encoded more than three times over: nobody's real link


@bp.get("/lang/<code>")
def switch_language(code: str):
    if code not in i18n.LOCALES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/inbox")
@page(*STAFF)
def inbox():
    return render_page("inbox.html", "inbox", _("Inbox"), view=request.args.get("view", "todo"))


@bp.get("/tasks/<task_id>")
@page(*STAFF)
def task(task_id: str):  # task ids are UUIDs
    return render_page("task.html", "task", _("Task"), task_id=task_id)


@bp.get("/cases")
@page(*STAFF, *AUDITORS)
def cases():
    from api.core.categories import current  # the filter offers the catalogue's categories

    return render_page("cases.html", "cases", _("Cases"), categories=current().names)


@bp.get("/cases/led")
@page("leader")
def led_cases():
    """我包的案件: the case list narrowed to the cases with a step in the leader's lane (包案)."""
    return render_page("cases.html", "cases", _("My led cases"), led=True)


@bp.get("/cases/village")
@page(*TOWN_CENTRE)
def village_cases():
    """村级办理: the town centre's read-only view of the cases its villages took on themselves (小事不出村);
    the town does no step in them until one is escalated (docs/processes/dispute_intake.md)."""
    from api.core.categories import current

    return render_page("cases.html", "cases", _("Village-handled cases"), categories=current().names, village=True)


@bp.get("/cases/new")
@page(*STAFF)
def new_case():
    from api.cases.tasks import start_form  # the first form of the process (the register page renders it)

    process_key = request.args.get("process", "dispute_intake")
    return render_page("case_new.html", "case_new", _("Register a dispute"), process_key=process_key,
                       start=start_form(process_key))


@bp.get("/cases/<int:case_id>")
@page(*STAFF, *AUDITORS)
def case(case_id: int):
    return render_page("case.html", "case", _("Case"), case_id=case_id)


@bp.get("/dashboard")
@page(*WATCHERS)
def dashboard():
    return render_page("dashboard.html", "dashboard", _("Dashboard"))


@bp.get("/designer")
@page(*DESIGNERS)
def designer():
    return render_page("designer_list.html", "designer_list", _("Designer"))


@bp.get("/designer/<key>")
@page(*DESIGNERS)
def designer_edit(key: str):
    return render_page("designer.html", "designer", _("Designer"), key=key, version=request.args.get("version"))


@bp.get("/designer/<key>/compare")
@page(*DESIGNERS)
def designer_compare(key: str):
    return render_page("compare.html", "compare", _("Compare versions"), key=key,
                       left=request.args.get("left"), right=request.args.get("right"))


@bp.get("/designer/forms/<path:form_key>")
@page(*DESIGNERS)
def form_editor(form_key: str):
    return render_page("form_editor.html", "form_editor", _("Form editor"), form_key=form_key)


@bp.get("/audit")
@page(*AUDITORS)
def audit():
    return render_page("audit_list.html", "audit_list", _("Audit"))


@bp.get("/audit/cases/<int:case_id>")
@page(*AUDITORS)
def replay(case_id: int):
    return render_page("replay.html", "replay", _("Replay"), case_id=case_id)


@bp.get("/admin/users")
@page("admin")
def admin_users():
    return render_page("admin_users.html", "admin_users", _("Users"))


@bp.get("/census")
@page(*CENSUS)
def census():
    return render_page("census.html", "census", _("Census"), tab=request.args.get("tab", "people"))


@bp.get("/prevention")
@page(*CENSUS)
def prevention():
    return render_page("prevention.html", "prevention", _("Prevention"), tab=request.args.get("tab", "screening"))


@bp.get("/community")
@page(*CENSUS)
def community():
    """群防群治: 五会一队 rosters, 警民恳谈会 and service posts, 干部联系提示卡, 六大行动 and daily hours."""
    vocabularies = community_catalogue(services().settings.workflows_dir)
    return render_page("community.html", "community", _("Community work"), vocabularies=vocabularies)


@bp.route("/verify/<code>", methods=["GET", "POST"])
def verify(code: str):
    """Public, no login: the QR code on every document opens this page. A PDF sent with POST is
    hashed here and compared with the issued document (it is not kept)."""
    svc = services()
    sha256 = None
    if request.method == "POST" and request.files.get("file"):
        sha256 = hashlib.sha256(request.files["file"].read()).hexdigest()
    found = verification(svc, code[:40], sha256)
    params = {"code": code[:40], "verification": found, "matches": found.get("matches") if found else None,
              "issued_at": chinese_datetime(found["issued_at"]) if found else ""}
    if found:
        params["verification"] = {k: v for k, v in found.items() if k != "issued_at"}
    return render_page("verify.html", "verify", _("Verify a document"), **params), 200 if found else 404

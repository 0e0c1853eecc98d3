"""The API's factory: every ``/api`` route, its problems and its authentication, and no page.

The browser pages are added by the composition root (``cunliao.app``), so the API never knows the
pages that use it."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, request, send_from_directory

from engine.clock import Clock

from .audit import routes as audit
from .cases import assign, journal, messages, routes as cases, tasks, work
from .census import heads as building_heads, routes as census
from .community import routes as community
from .core import answers, auth, headers, health, inputs, logs, metrics, problems, ratelimit, unavailable
from .core.config import Settings
from .core.services import build_services
from .definitions import routes as definitions
from .documents import routes as documents
from .intake import routes as intake
from .people import admin, login, units
from .prevention import routes as prevention
from .resident import routes as resident
from .stats import routes as stats


def create_api(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_AS_ASCII=False,
        API_TITLE="Cunliao 村了 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",  # served below: no CDN
    )
    app.json = answers.MaskedJSONProvider(app)
    app.url_map.converters["int"] = inputs.BoundedIntConverter  # before any route is added
    app.extensions["cunliao"] = build_services(settings, clock)
    logs.configure(settings.log_format)

    api = problems.ProblemApi(app, spec_kwargs={
        "info": {"description": "Grassroots dispute resolution on BPMN (民事村了)."}})
    api.register_converter(inputs.BoundedIntConverter, inputs.path_int_schema)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in (login.blp, definitions.blp, cases.blp, tasks.blp, work.blp, assign.blp, messages.blp, audit.blp,
                      journal.blp, admin.blp, intake.blp, census.blp, prevention.blp, stats.blp, units.blp,
                      documents.blp, community.blp, resident.blp, building_heads.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(health.blp)
    problems.register(app)
    unavailable.register(app)  # database away: 503 with Retry-After; reads tried once more
    logs.register(app)  # a request id on every log line, one access line per request
    metrics.register(app)  # /metrics, and request latency by route
    ratelimit.register(app)  # 429 with Retry-After
    headers.register(app)
    inputs.register(app)

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.before_request
    def _authenticate():
        if (request.path.startswith("/api/v1/") and not auth.is_public(request.method, request.path)
                and not request.path.startswith(intake.PREFIX)  # intake: per-channel API keys
                and not request.path.startswith(documents.PUBLIC_PREFIX)  # document verification: public
                and not request.path.startswith(resident.PREFIX)):  # residents: one-time codes, tracking codes
            auth.authenticate()

    return app

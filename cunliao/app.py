"""The whole service: the API, and the browser pages that read and write through it."""
from __future__ import annotations

from flask import Flask

from api.app import create_api
from api.core.config import Settings
from engine.clock import Clock
from web import i18n, pages, resident


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    app = create_api(settings, clock)
    i18n.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(resident.bp)
    return app

"""Security headers on every answer, pages and API alike.

The pages load only their own bundles (esbuild output under /ui/static) and talk only to /api/v1,
so the Content-Security-Policy allows this origin and nothing else: no inline or foreign script, no
``<style>`` element or foreign stylesheet, no framing (clickjacking), no plugin. Style *attributes*
are allowed (``style-src-attr``): ECharts and bpmn-js position tooltips, overlays and the canvas
with them, and an attribute can neither run code nor select content to leak it. The one
exception is the Swagger UI page at /api/docs, whose template starts the viewer with an inline
script."""
from __future__ import annotations

from flask import Flask, request

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-elem 'self'; "
          "style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
          "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SWAGGER_UI = "/api/docs"
SWAGGER_POLICY = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def register(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", SWAGGER_POLICY if request.path == SWAGGER_UI else POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
        headers.setdefault("Referrer-Policy", "same-origin")
        return response

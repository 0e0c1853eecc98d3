"""Log lines: JSON (one object a line, for a log shipper) or text, each with the request id, and
never a personal number in them.

Every request gets an id: the caller's ``X-Request-Id`` when it is a sane token (a proxy's), a new one
otherwise; it is answered in ``X-Request-Id`` and stamped on every line logged while the request runs,
so one request's lines can be found together. One access line per request names the route (the
URL rule, not the path, so no case number or query reaches the log), the status and the duration.

Masking is done on the formatted line, the traceback included: an ID number or a mobile number in
an error message (a constraint's detail, a bad value echoed back) is masked like in the API.
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from .pii import mask_text

log = logging.getLogger("cunliao.access")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class MaskedJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class MaskedTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def configure(log_format: str = "json") -> None:
    """Install the handler on the root logger once per process (a test runner's own handlers, or
    gunicorn's from ``logging_config``, win)."""
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every task state change at INFO
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return MaskedJsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time"},
                                   json_ensure_ascii=False)
    return MaskedTextFormatter(TEXT_FORMAT)


def logging_config(log_format: str = "json") -> dict:
    """The same set-up as a ``logging.config.dictConfig`` dict, for gunicorn (``logconfig_dict``), so
    its own lines (booting, worker exits, timeouts) come out like the app's."""
    json_format = {"()": MaskedJsonFormatter, "fmt": JSON_FIELDS, "json_ensure_ascii": False,
                   "rename_fields": {"levelname": "level", "asctime": "time"}}
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "main",
               "filters": ["request_id"]}
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": json_format if log_format == "json" else {"()": MaskedTextFormatter, "fmt": TEXT_FORMAT}},
        "handlers": {"main": handler},
        "root": {"level": "INFO", "handlers": ["main"]},
        "loggers": {name: {"level": "INFO", "handlers": ["main"], "propagate": False}
                    for name in ("gunicorn.error", "gunicorn.access")},
    }


def register(app: Flask) -> None:
    @app.before_request
    def _start():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id")
        if request_id is None:  # failed before _start ran
            return response
        response.headers["X-Request-Id"] = request_id
        seconds = time.perf_counter() - g.request_started
        log.info("%s %s %s %.1fms", request.method, route(), response.status_code, seconds * 1000,
                 extra={"method": request.method, "route": route(), "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 1)})
        return response


def route() -> str:
    """The URL rule the request matched (``/api/v1/cases/<case_no>``), or a fixed word."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"

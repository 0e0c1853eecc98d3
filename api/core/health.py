"""Health checks for load balancers and supervisors.

* ``GET /healthz/live``: the process answers (restart it if not); touches nothing else.
* ``GET /healthz/ready``: the database answers and a timer worker has beaten within
  ``WORKER_STALE_AFTER``; 503 otherwise (take this node out of rotation until it is back).
* ``GET /healthz``: the same report as ready, but 200 while only the worker is missing ("degraded"),
  as it always was.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify
from sqlalchemy import select, text

from engine.models import WorkerHeartbeat

from .services import services

blp = Blueprint("health", __name__)

WORKER_STALE_AFTER = timedelta(seconds=15)


def _report() -> tuple[dict, bool, bool]:
    """The report, whether the database answered, whether a timer worker is alive."""
    svc = services()
    try:
        with svc.db.read() as session:
            session.execute(text("SELECT 1"))
            beats = list(session.scalars(select(WorkerHeartbeat)))
    except Exception as exc:  # the point of a health check is to report this, not to raise it
        return {"status": "error", "database": {"status": "error", "detail": str(exc).splitlines()[0]},
                "worker": {"status": "unknown"}}, False, False
    now = svc.clock.now()
    live = [b for b in beats if now - b.seen_at <= WORKER_STALE_AFTER]
    last_seen = max((b.seen_at for b in beats), default=None)
    worker = {"status": "ok" if live else ("stale" if beats else "absent"), "workers": len(live),
              "last_seen": last_seen.isoformat() if last_seen else None}
    return {"status": "ok" if live else "degraded",
            "database": {"status": "ok", "dialect": svc.db.engine.dialect.name}, "worker": worker}, True, bool(live)


@blp.get("/healthz")
def healthz():
    report, database_ok, _worker_ok = _report()
    return jsonify(report), 200 if database_ok else 503


@blp.get("/healthz/live")
def live():
    return jsonify(status="ok")


@blp.get("/healthz/ready")
def ready():
    report, database_ok, worker_ok = _report()
    headers = {} if database_ok and worker_ok else {"Retry-After": "5"}
    return jsonify(report), (200 if database_ok and worker_ok else 503), headers

"""GET /healthz: is the database reachable and are timers being fired?"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, jsonify
from sqlalchemy import select, text

from engine.models import WorkerHeartbeat

from .services import services

blp = Blueprint("health", __name__)

WORKER_STALE_AFTER = timedelta(seconds=15)


@blp.get("/healthz")
def healthz():
    svc = services()
    try:
        with svc.db.read() as session:
            session.execute(text("SELECT 1"))
            beats = list(session.scalars(select(WorkerHeartbeat)))
    except Exception as exc:  # the point of a health check is to report this, not to raise it
        return jsonify(status="error", database={"status": "error", "detail": str(exc).splitlines()[0]},
                       worker={"status": "unknown"}), 503
    now = svc.clock.now()
    live = [b for b in beats if now - b.seen_at <= WORKER_STALE_AFTER]
    worker = {"status": "ok" if live else ("stale" if beats else "absent"), "workers": len(live),
              "last_seen": max((b.seen_at for b in beats), default=None)}
    if worker["last_seen"] is not None:
        worker["last_seen"] = worker["last_seen"].isoformat()
    return jsonify(status="ok" if live else "degraded", database={"status": "ok", "dialect": svc.db.engine.dialect.name},
                   worker=worker)

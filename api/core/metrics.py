"""``GET /metrics``: Prometheus text format (prometheus-client).

Request latency is a histogram by route, kept by each process; under ``cunliao serve`` (or with
``PROMETHEUS_MULTIPROC_DIR`` set for every process) the gunicorn workers share it, so one scrape
sees them all. The state of the work is read from the database at scrape time, so every node
answers the same: open and overdue tasks, due timers and how late the oldest is, the outbox's
pending messages, cases in incident, and each timer worker's heartbeat.

Who may scrape: a caller on this host that did not come through a proxy (no ``X-Forwarded-For``), or
anyone with ``Authorization: Bearer <METRICS_TOKEN>``. The figures hold no personal data.
"""
from __future__ import annotations

import hmac
import os
import time
from datetime import timedelta

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from engine.models import Case, CaseTask, MessageOutbox, PendingTimer, WorkerHeartbeat
from engine.steps import OPEN_STATUSES

from .logs import route
from .problems import problem
from .services import Services, services

LOOPBACK = ("127.0.0.1", "::1")
HEARTBEATS_SHOWN_FOR = timedelta(hours=1)  # restarted workers get new ids; old rows are history

REQUEST_SECONDS = Histogram("cunliao_http_request_duration_seconds", "HTTP request latency by route",
                            ["method", "route"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


class WorkCollector:
    """Gauges read from the database when scraped."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def collect(self):
        now = self.svc.clock.now()
        with self.svc.db.read() as session:
            open_tasks = session.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.state == "ready"))
            overdue = session.scalar(select(func.count()).select_from(CaseTask)
                                     .where(CaseTask.state == "ready", CaseTask.due_at < now))
            due = (select(func.count(), func.min(PendingTimer.due_at)).join(Case, Case.id == PendingTimer.case_id)
                   .where(PendingTimer.due_at < now, Case.status.in_(OPEN_STATUSES)))
            due_timers, oldest_due = session.execute(due).one()
            outbox = session.scalar(select(func.count()).select_from(MessageOutbox)
                                    .where(MessageOutbox.state == "pending"))
            incidents = session.scalar(select(func.count()).select_from(Case).where(Case.status == "incident"))
            beats = list(session.scalars(select(WorkerHeartbeat)
                                         .where(WorkerHeartbeat.seen_at > now - HEARTBEATS_SHOWN_FOR)))
        yield _gauge("cunliao_tasks_open", "User tasks ready to be worked on", open_tasks)
        yield _gauge("cunliao_tasks_overdue", "Ready user tasks past their due time", overdue)
        yield _gauge("cunliao_timers_due", "Timers due and not yet fired", due_timers)
        yield _gauge("cunliao_timer_lateness_seconds", "How late the oldest due, unfired timer is",
                     (now - oldest_due).total_seconds() if oldest_due else 0.0)
        yield _gauge("cunliao_outbox_pending", "Thrown messages not yet delivered", outbox)
        yield _gauge("cunliao_cases_incident", "Cases stopped in an incident", incidents)
        age = GaugeMetricFamily("cunliao_worker_heartbeat_age_seconds", "Seconds since each timer worker's last beat",
                                labels=["worker"])
        for beat in beats:
            age.add_metric([beat.worker_id], (now - beat.seen_at).total_seconds())
        yield age


def _gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


def register(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.get("metrics_started")
        if started is not None and request.path != "/metrics":
            REQUEST_SECONDS.labels(request.method, route()).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        if not _may_scrape(services().settings.metrics_token):
            return problem(403, "metrics are served to this host, or with the METRICS_TOKEN bearer token",
                           "无权查看监控指标")
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)
        else:
            registry.register(REGISTRY)
        registry.register(WorkCollector(services()))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _may_scrape(token: str) -> bool:
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return request.remote_addr in LOOPBACK and "X-Forwarded-For" not in request.headers

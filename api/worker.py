"""What the timer worker does besides firing timers: tell people of new and overdue tasks, post
notifications to the gateway, and report case changes back to the intake channels."""
from __future__ import annotations

from .core.notify import notify_new_tasks, notify_overdue, send_pending
from .core.services import Services
from .intake.service import report_changes, webhook_urls


def worker_jobs(services: Services) -> list:
    """Rounds the timer worker runs besides firing timers."""
    jobs = [lambda: notify_new_tasks(services.db, services.clock.now()),
            lambda: notify_overdue(services.db, services.clock.now())]
    if services.settings.notify_webhook_url:
        jobs.append(lambda: send_pending(services.db, services.settings.notify_webhook_url, services.clock.now()))
    intake_urls = webhook_urls()
    if intake_urls:
        jobs.append(lambda: report_changes(services.db, intake_urls, services.clock.now()))
    return jobs

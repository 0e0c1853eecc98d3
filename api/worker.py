"""What the timer worker does besides firing timers: tell people of new and overdue tasks, post
notifications to the gateway, report case changes back to the intake channels, and text residents
the milestones of what they reported."""
from __future__ import annotations

from .core.notify import notify_new_tasks, notify_overdue, send_pending
from .core.services import Services
from .intake.service import report_changes, webhook_urls
from .resident.milestones import tell_milestones
from .resident.sms import gateway_from_env


def worker_jobs(services: Services) -> list:
    """Rounds the timer worker runs besides firing timers."""
    jobs = [lambda: notify_new_tasks(services.db, services.clock.now()),
            lambda: notify_overdue(services.db, services.clock.now())]
    if services.settings.notify_webhook_url:
        jobs.append(lambda: send_pending(services.db, services.settings.notify_webhook_url, services.clock.now()))
    resident_sms = gateway_from_env()
    jobs.append(lambda: tell_milestones(services, resident_sms))
    intake_urls = webhook_urls()
    if intake_urls:
        jobs.append(lambda: report_changes(services.db, intake_urls, services.clock.now()))
    return jobs

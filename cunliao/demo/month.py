"""Seed a demo month: census, a census round in progress, prevention lists and patrols, and a few
dozen cases in every state in both towns. The same seed and end time give the same month; the month
ends at the real now, so the server's clock carries on from it."""
from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from api.core.config import Settings
from api.core.models import OrgUnit
from engine.clock import FakeClock
from engine.models import Case

from .cases import OPEN, Driver, load_forms
from .groundwork import Api, Groundwork
from .plans import plans, start_time

log = logging.getLogger(__name__)
DAYS = 30


def seed_month(settings: Settings, seed: int = 17, until: datetime | None = None) -> Counter | None:
    """The demo month, unless the database holds cases already; returns how many cases of each kind."""
    from cunliao.app import create_app  # the whole app: the groundwork goes through the API

    until = (until or datetime.now(timezone.utc)).replace(microsecond=0)
    clock = FakeClock(until - timedelta(days=DAYS))
    # Tokens outlive the demo clock's jumps (no sign-in per step); each is revoked at the end.
    app = create_app(replace(settings, token_ttl_seconds=2 * DAYS * 86400), clock)
    svc = app.extensions["cunliao"]
    try:
        with svc.db.read() as session:
            if session.scalar(select(func.count()).select_from(Case)):
                return None
            units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        rng = random.Random(seed)
        driver = Driver(svc, clock, rng, until, load_forms(settings.workflows_dir / "forms"))
        api = Api(app.test_client(), clock, settings.demo_password)
        ground = Groundwork(api, driver, rng, until)
        grids = [u for u in units if u.kind == "grid"]
        start = until - timedelta(days=DAYS - 1)
        ground.census(grids, start)
        log.info("demo census done")
        ground.prevention([u for u in units if u.kind == "village"], start)
        log.info("demo prevention done")
        ground.round(grids)
        log.info("demo round done")
        api.sign_out()
        counts = Counter(run_cases(driver, rng, units, until))
        clock.set(until)
        svc.cases.fire_due_timers()
        svc.cases.dispatch_outbox()
        return counts
    finally:
        svc.db.dispose()


def run_cases(driver: Driver, rng: random.Random, units: list[OrgUnit], until: datetime):
    """Start and move every planned case; yields each case's kind and final status."""
    by_path = {u.path: u for u in units}
    towns = {u.code: u for u in units if u.kind == "town"}
    grids: dict[str, list[tuple[str, str]]] = {}
    for unit in units:
        if unit.kind == "grid":
            town = next(t for t in towns.values() if unit.path.startswith(t.path))
            village = by_path[unit.path.rsplit("/", 2)[0] + "/"]
            grids.setdefault(town.code, []).append((unit.code, village.name))
    first_open: dict[str, str] = {}
    for days_before, plan in plans(rng, grids, {code: town.name for code, town in towns.items()}):
        town = plan.grid.split("-", 1)[0]
        if plan.answers.get("duplicate_of") == "-":  # a repeat report of the town's oldest open case
            if town not in first_open:
                continue
            plan.answers["duplicate_of"] = first_open[town]
        case = driver.run(plan, start_time(until, days_before))
        if case.status in OPEN and case.process_key == "dispute_intake":
            first_open.setdefault(town, case.case_no)
        log.info("demo case %s %s: %s", case.case_no, plan.kind, case.status)
        yield f"{plan.kind}:{case.status}"

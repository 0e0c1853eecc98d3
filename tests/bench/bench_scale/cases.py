"""Ten years of cases, each one started and moved by the engine on the bundled processes, step by
step as the role that owns the step, on a clock that walks through the case's own days (the demo
month's driver, ``cunliao/demo/cases.py``). The audit chain is per case, so cases are independent:
they are split over worker processes, each with its own services and clock.

Differences from the demo month, for speed at a hundred thousand cases: a case's timers are fired
for that case only (the whole city's due timers are not polled on every tick), and the person who
does a step is found in an index of (role, unit) instead of a scan of every user."""
from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import event, insert, select

from api.core.config import Settings
from api.core.services import build_services
from cunliao.demo.cases import OPEN, Driver, Plan, load_forms
from engine.clock import FakeClock
from engine.errors import InvalidData
from engine.models import Attachment, Case, MessageOutbox, MessageReceipt, PendingTimer

from .paths import AGREED, PATHS

PACE = {p.kind: p.pace for p in PATHS}
ATTACHMENT_SHARE = 0.3
FILES = (("现场照片.jpg", "image/jpeg", 850_000), ("调解笔录扫描件.pdf", "application/pdf", 1_200_000),
         ("当事人录音.m4a", "audio/mp4", 3_400_000))


class FastDriver(Driver):
    def __init__(self, svc, clock, rng, until, forms):
        super().__init__(svc, clock, rng, until, forms)
        self.by_unit: dict[tuple[str, str], str] = {}
        for role, path, name in self.holders:
            self.by_unit.setdefault((role, path), name)
        self.within_cache: dict[tuple[str, str], str] = {}
        self.pace = (2, 30)

    def actor(self, role, jurisdiction):
        parts = [p for p in (jurisdiction or "").split("/") if p]
        for n in range(len(parts), 0, -1):
            name = self.by_unit.get((role, "/" + "/".join(parts[:n]) + "/"))
            if name:
                return name
        key = (role, jurisdiction)
        if key not in self.within_cache:
            within = sorted((len(p), n) for r, p, n in self.holders if r == role and p.startswith(jurisdiction))
            self.within_cache[key] = within[0][1] if within else self.role_names.get(role or "", role or "system")
        return self.within_cache[key]

    def run_plan(self, plan: Plan, start: datetime, pace: tuple[float, float]) -> Case:
        self.pace = pace
        self.clock.set(start)
        unit = self.units[plan.grid]
        data = {}
        if plan.process == "lead_clue":
            data = {k: plan.answers[k] for k in ("source", "source_ref", "lead_summary")}
        creator = self.actor("grid_worker", unit.path)
        view = self.svc.cases.start(plan.process, data, creator, unit.path, plan.title)
        if self.rng.random() < ATTACHMENT_SHARE:
            self.attach(view.case.id, creator)
        return self.drive(view, plan, unit)

    def payload(self, form_key, plan, case):
        """The demo's payload, but an answer outside this form's choices (``outcome`` means one thing
        in the mediation and another in a department's feedback) leaves the form's own example."""
        answers = plan.answers
        properties = (self.forms.get(form_key or "") or {}).get("properties", {})
        clash = {k for k, v in answers.items() if k in properties and v is not None
                 and "enum" in properties[k] and v not in properties[k]["enum"]}
        if clash:
            plan = Plan(**{**plan.__dict__, "answers": {k: v for k, v in answers.items() if k not in clash}})
        return super().payload(form_key, plan, case)

    def drive(self, view, plan: Plan, unit) -> Case:
        """Move the case on from ``view`` (the last command's answer: no re-reading between steps)."""
        done, case_id = 0, view.case.id
        for _ in range(80):
            if view.case.status not in OPEN or (plan.steps is not None and done >= plan.steps):
                break
            if any(t.element_id in plan.stop_at for t in view.tasks):
                break
            if not view.tasks:
                later = self.next_timer(view)
                if later is None:
                    break
                view = later
                continue
            if not self.tick(case_id, hours=self.rng.uniform(*self.pace)):
                break
            view = self.fire(view) or view  # a timer may have fired while the hours passed
            if view.tasks and not any(t.element_id in plan.stop_at for t in view.tasks):
                task = view.tasks[0]
                data = self.payload(task.form_key, plan, view.case)
                try:
                    view = self.svc.cases.complete_task(task.id, data, self.actor(
                        task.role, task.jurisdiction or view.case.jurisdiction))
                except InvalidData as exc:
                    raise RuntimeError(f"{plan.kind} {task.element_id}: {exc.errors}") from exc
                done += 1
        if plan.then and view.case.status in OPEN:
            self.tick(case_id, hours=self.rng.uniform(1, 8))
            who = self.actor("town_officer", unit.path)
            if plan.then == "cancel":
                view = self.svc.cases.cancel(case_id, who, "当事人撤回申请，双方已自行和解")
            else:
                view = self.svc.cases.suspend(case_id, who, "当事人外出务工，待其返乡后继续调解")
        return view.case

    def follow_conversion(self, lead: Case, plan: Plan) -> Case | None:
        """A converted lead starts a dispute case by message: move that one to its end as well."""
        with self.svc.db.read() as session:
            keys = [f"outbox:{m}" for m in session.scalars(select(MessageOutbox.id).where(
                MessageOutbox.sender_case_id == lead.id, MessageOutbox.name == "lead_converted"))]
            ids = [i for r in session.scalars(select(MessageReceipt).where(MessageReceipt.idempotency_key.in_(keys)))
                   for i in r.case_ids] if keys else []
        if not ids:
            return None
        follow = Plan(kind="lead_case", process="dispute_intake", grid=plan.grid, title=plan.title,
                      answers={**plan.answers, **AGREED})
        return self.drive(self.svc.cases.view(ids[0]), follow, self.units[plan.grid])

    def attach(self, case_id: int, actor: str) -> None:
        filename, content_type, size = self.rng.choice(FILES)
        digest = "%064x" % self.rng.getrandbits(256)  # metadata only: the bytes are not generated
        row = {"case_id": case_id, "filename": filename, "content_type": content_type, "size": size,
               "sha256": digest, "uploaded_by": actor, "uploaded_at": self.clock.now()}
        self.svc.cases.annotate(case_id, actor, "attachment_added",
                                {"filename": filename, "sha256": digest, "size": size, "content_type": content_type},
                                lambda conn: conn.execute(insert(Attachment.__table__).values(**row)))

    # time passes for this case only
    def tick(self, case_id: int, **delta: float) -> bool:  # type: ignore[override]
        target = self.clock.now() + timedelta(**delta)
        if target >= self.until:
            return False
        self.clock.set(target)
        return True

    def next_timer(self, view):
        """Jump to the case's next timer and fire it; None when it falls after the end (a waiting case)."""
        due = min((t.due_at for t in self.timers(view)), default=None)
        if due is None or due + timedelta(seconds=1) >= self.until:
            return None
        self.clock.set(max(self.clock.now(), due + timedelta(seconds=1)))
        return self.fire(view) or self.svc.cases.view(view.case.id)

    def fire(self, view):
        """Fire this case's due timers (the worker's job, for this case only); its view if any fired.
        The last command's view lists the case's timers, so no query asks whether one is due."""
        now = self.clock.now()
        if not any(t.due_at <= now for t in self.timers(view)):
            return None
        return self.svc.cases._fire_case_timers(view.case.id, now)

    def timers(self, view):
        if view.timers is not None:
            return view.timers
        with self.svc.db.read() as session:  # a view read with ``view()`` (a converted lead's case)
            return list(session.scalars(select(PendingTimer).where(PendingTimer.case_id == view.case.id)))


def _work(args) -> tuple[Counter, int, float, Counter]:
    """One worker's share: the path outcomes, engine steps, CPU seconds and round trips."""
    settings, plans, until, seed = args
    cpu = time.process_time()
    clock = FakeClock(until)
    svc = build_services(settings, clock)
    _quick_commits(svc.db)
    # case_facts and case_reach are written once for all cases after the build (build.py, the
    # migrations' backfills): the same rows the write hooks would leave (tests/test_stats_summary.py,
    # tests/test_case_reach.py), without rewriting a case's rows at each of its ten or so steps.
    svc.cases.on_write = None
    statements = Counter()  # round trips: SQL statements, and connection checkouts (a pre-ping each)
    event.listen(svc.db.engine, "before_cursor_execute", lambda *_: statements.update(("sql",)))
    event.listen(svc.db.engine, "checkout", lambda *_: statements.update(("checkout",)))
    driver = FastDriver(svc, clock, random.Random(seed), until, load_forms(settings.workflows_dir / "forms"))
    counts, steps = Counter(), 0
    try:
        for start, kind, plan in plans:
            case = driver.run_plan(plan, start, PACE[kind])
            counts[f"{kind}:{case.status}"] += 1
            steps += case.event_seq
            if kind == "lead_converted" and case.status == "completed":
                made = driver.follow_conversion(case, plan)
                if made is not None:
                    counts[f"lead_case:{made.status}"] += 1
                    steps += made.event_seq
    finally:
        svc.db.dispose()
    return counts, steps, time.process_time() - cpu, statements


def _quick_commits(db) -> None:
    """The generator's own PostgreSQL connections (never the app's): a commit does not wait for the
    WAL flush (``synchronous_commit=off``: a crash loses the last moments of a build that is redone
    anyway, never consistency), a checkout does not ping (a worker's few connections live as long
    as the build), and psycopg keeps every statement it prepared (its default of 100 evicted and
    re-prepared about ten a case)."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    engine.pool._pre_ping = False

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.prepared_max = 5000
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        dbapi_conn.commit()


def wait_calling(pending, every: tuple[float, Callable[[], None]] | None):
    """The result of a pool's ``map_async``, calling ``every[1]`` each ``every[0]`` seconds until it is ready."""
    while every is not None and not pending.ready():
        pending.wait(every[0])
        if not pending.ready():
            every[1]()
    return pending.get()


def run(settings: Settings, planned: list, until: datetime, workers: int, seed: int, log,
        every: tuple[float, Callable[[], None]] | None = None) -> Counter:
    """Run every planned case, split round-robin over ``workers`` processes (fork); ``every``
    (seconds, function) is called that often while they run."""
    chunks = [[(s, path.kind, plan) for s, path, plan in planned[i::workers]] for i in range(workers)]
    started = time.perf_counter()
    jobs = [(settings, chunk, until, seed * 100 + i) for i, chunk in enumerate(chunks) if chunk]
    if workers == 1:
        results = [_work(job) for job in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
            results = wait_calling(pool.map_async(_work, jobs), every)
    wall = time.perf_counter() - started
    counts = Counter()
    for found, *_ in results:
        counts.update(found)
    made = max(1, sum(counts.values()))
    cpu, statements = sum(r[2] for r in results), sum((r[3] for r in results), Counter())
    log(f"cases: {len(planned)} planned, {made} made in {wall:.0f} s with {workers} workers: "
        f"{1000 * wall / made:.1f} ms/case wall, {1000 * cpu / made:.1f} ms/case CPU (the workers'), "
        f"{statements['sql'] / made:.0f} statements + {statements['checkout'] / made:.0f} checkouts/case")
    return counts

"""``audit verify --all`` over a whole database: the sweep (``engine/sweep.py``) in one process per
CPU, each over its share of the case-id batches, all in the parent's snapshot on PostgreSQL.

A case whose last event seals its row is verified by its chain and seal; one with no seal (last
written before seals existed) is replayed as before; ``replay="all"`` replays every case, and
``sample`` (a fraction) replays that share of the sealed ones as well, chosen by case id and
``seed`` so the choice does not depend on how the batches fall to the workers.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.core.services import build_services
from engine.files import FileStore
from engine.models import Case
from engine.sweep import BATCH, Checked, batches, snapshot, sweep
from engine.verify import Verdict, check_replay


@dataclass(frozen=True)
class Plan:
    replay: str = "unsealed"          # unsealed | all
    sample: float = 0.0               # share of the sealed cases replayed as well (0.02: 2 %)
    seed: int = 0
    files: Path | None = None         # the attachments directory: check the sealed documents

    def replays(self, checked: Checked) -> str | None:
        """Why this case is replayed: unsealed, all or sampled; None: not replayed."""
        if self.replay == "all":
            return "all"
        if not checked.verdict.sealed:
            return "unsealed"
        if self.samples(checked.case.id):
            return "sampled"
        return None

    def samples(self, case_id: int) -> bool:
        """Whether the case is in the replay sample."""
        return bool(self.sample) and random.Random(f"{self.seed}:{case_id}").random() < self.sample


@dataclass
class Tally:
    cases: int = 0
    events: int = 0
    sealed: int = 0
    replayed: dict[str, int] = field(default_factory=dict)   # why → how many
    replayed_events: int = 0
    replay_seconds: float = 0.0
    failures: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, other: Tally) -> None:
        self.cases, self.events, self.sealed = self.cases + other.cases, self.events + other.events, \
            self.sealed + other.sealed
        for why, count in other.replayed.items():
            self.replayed[why] = self.replayed.get(why, 0) + count
        self.replayed_events += other.replayed_events
        self.replay_seconds += other.replay_seconds
        self.failures += other.failures


def verify_all(settings: Settings, plan: Plan = Plan(), workers: int | None = None,
               progress: Callable[[int], None] | None = None, batch: int | None = None,
               only: Callable[[int], bool] | None = None) -> Tally:
    """Every case, ``batch`` case ids per read (default: up to ``BATCH``, fewer for a small database so
    that each worker gets several batches); ``progress`` is called with the cases done so far.
    ``only``: just the cases whose id it accepts (each read on its own), e.g. a replay sample timed
    without sweeping the rest again."""
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    total = Tally()
    pool = _pool(workers, settings, plan) if workers > 1 else None
    svc = None
    try:
        svc = build_services(settings)
        with snapshot(svc.db.engine) as (conn, shared):
            ranges = (batches(conn, batch or _batch_size(conn, workers)) if only is None else
                      [r for r in batches(conn, 1) if only(r[0])])
            if pool is None:
                parts = (_verify_ranges(svc, plan, conn, [r]) for r in ranges)
            else:
                parts = pool.imap_unordered(_verify_range, [(r, shared) for r in ranges])
            for part in parts:
                total.add(part)
                if progress:
                    progress(total.cases)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if svc is not None:
            svc.db.dispose()
    total.failures.sort(key=lambda v: v.case_no)
    total.seconds = time.perf_counter() - started
    return total


def _pool(workers: int, settings: Settings, plan: Plan) -> multiprocessing.pool.Pool:
    """Workers forked from a fork server, not from this process: a plain fork copies the locks that this
    process's other threads hold at that instant, and a child that needs one waits for ever (seen:
    ``backup`` beside a thread that was writing cases hung the test suite). The server is a clean
    single-threaded process that imports this module once, so its workers do not import the app again
    and inherit no connection."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context.Pool(workers, _start_worker, (settings, plan))


def _batch_size(conn, workers: int) -> int:
    cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
    return max(1, min(BATCH, -(-cases // (workers * 4))))


_worker: tuple | None = None


def _start_worker(settings: Settings, plan: Plan) -> None:
    global _worker
    _worker = (build_services(settings), plan)


def _verify_range(task: tuple[tuple[int, int], str | None]) -> Tally:
    """In a worker: one batch of case ids, in the parent's snapshot (PostgreSQL) or its own (SQLite)."""
    svc, plan = _worker
    batch, shared = task
    with snapshot(svc.db.engine, shared) as (conn, _):
        return _verify_ranges(svc, plan, conn, [batch])


def _verify_ranges(svc, plan: Plan, conn, ranges: list[tuple[int, int]]) -> Tally:
    tally = Tally()
    files = FileStore(plan.files) if plan.files is not None else None
    with Session(bind=conn) as session:  # the registry reads the definitions in the same snapshot
        for checked in sweep(conn, ranges, files):
            verdict = checked.verdict
            tally.cases, tally.events = tally.cases + 1, tally.events + verdict.events
            tally.sealed += bool(verdict.sealed)
            why = plan.replays(checked) if verdict.ok else None
            if why:
                t0 = time.perf_counter()
                check_replay(verdict, checked.case, checked.events, lambda i: svc.registry.load(session, i),
                             svc.cases.script_engine)
                tally.replay_seconds += time.perf_counter() - t0
                tally.replayed[why] = tally.replayed.get(why, 0) + 1
                tally.replayed_events += verdict.events
            if not verdict.ok:
                tally.failures.append(verdict)
    return tally

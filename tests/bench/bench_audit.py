"""Audit benchmark (part of `make bench`): how fast chains verify and cases replay.

- ``verify_events_per_s``: events read from the database and checked against their hash chain,
  per second, over many cases (SQLite, in process).
- ``replay_ms_100_steps``: rebuilding a case with 100 completed tasks from its events (median).
Run alone: ``.venv/bin/python tests/bench/bench_audit.py`` prints one JSON line.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.core.config import Settings  # noqa: E402
from api.core.services import build_services  # noqa: E402
from api.people.seed import sync_reference_data  # noqa: E402
from cunliao.cli import migrate  # noqa: E402
from engine.clock import FakeClock  # noqa: E402
from engine.definitions import SourceFile  # noqa: E402
from engine.models import Case  # noqa: E402
from engine.replay import replay  # noqa: E402
from engine.verify import check_chain, iter_cases, load_events  # noqa: E402

LOOP = ROOT / "tests" / "fixtures" / "t_loop.bpmn"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


def build(tmp: Path, cases: int, steps: int):
    url = f"sqlite:///{tmp}/audit.db"
    migrate(url)
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=timezone.utc))
    svc = build_services(Settings(database_url=url), clock)
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, svc.settings.workflows_dir)
        svc.registry.deploy(session, [SourceFile(LOOP.name, LOOP.read_bytes())], "bench", clock.now())
    for _ in range(cases):
        view = svc.cases.start("t_loop", {"rounds": 10**6}, "bench", VILLAGE)
        for i in range(steps):
            clock.advance(minutes=5)
            view = svc.cases.complete_task(view.tasks[0].id, {"note": f"session {i}"}, "bench")
    return svc


def verify_rate(svc) -> float:
    best = 0.0
    for _ in range(3):
        started, events = time.perf_counter(), 0
        with svc.db.read() as session:
            for case in iter_cases(session):
                records, hashes = load_events(session, case.id)
                bad, _ = check_chain(case.id, records, hashes, case.chain_head, case.event_seq)
                assert bad is None
                events += len(records)
        best = max(best, events / (time.perf_counter() - started))
    return best


def replay_ms(svc, case_id: int, reps: int = 7) -> float:
    times = []
    with svc.db.read() as session:
        records, _ = load_events(session, case_id)
        load = lambda i: svc.registry.load(session, i)  # noqa: E731
        for _ in range(reps):
            started = time.perf_counter()
            state = replay(records, load, svc.cases.script_engine)
            times.append((time.perf_counter() - started) * 1000)
            assert state.applied == len(records)
    return statistics.median(times)


def measure(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="cunliao-audit-bench-") as tmp:
        svc = build(Path(tmp), cases=20 if quick else 100, steps=100)
        with svc.db.read() as session:
            case_id = next(iter_cases(session)).id
            assert session.get(Case, case_id).event_seq == 101
        result = {"verify_events_per_s": round(verify_rate(svc)), "replay_ms_100_steps": round(replay_ms(svc, case_id), 1)}
        svc.db.dispose()
    return result


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv)))

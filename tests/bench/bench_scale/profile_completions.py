"""Task completions profiled in-process on the scale benchmark's database: CPU ms and SQL statements
per completion, the first one of a fresh process against the steady ones.

    DATABASE_URL=postgresql://…/cunliao_bench .venv/bin/python -m tests.bench.bench_scale.profile_completions
        [--count 20] [--cold] [--statements]

The app is built as a gunicorn worker builds it (``cunliao.wsgi``: ``create_app``, then ``warm``,
whose own cost is reported, and ``gc.freeze``; ``--cold`` leaves both out, to see what a first
completion costs without them). Due timers are fired and tasks picked as ``measure.py`` does (``completions.py``),
then each is completed through Flask's test client, one after another. CPU time is this process's
(``time.process_time``; the database server's work is not in it); wall time includes the database.
It completes real tasks: the city moves on as it does under ``make bench-scale``."""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager

from sqlalchemy import event

from api.core.config import Settings
from api.core.services import build_services, warm
from cunliao.app import create_app
from cunliao.demo.cases import load_forms

from . import completions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20, help="completions (the first one and the steady ones)")
    ap.add_argument("--cold", action="store_true", help="do not warm the caches first (as before warm existed)")
    ap.add_argument("--statements", action="store_true", help="print the SQL of the first and the last completion")
    ap.add_argument("--database-url", help="default: DATABASE_URL")
    args = ap.parse_args()
    url = args.database_url or os.environ.get("DATABASE_URL") or "sqlite:///var/bench-scale.db"
    settings = Settings(database_url=url)
    setup = build_services(settings)  # its own caches: the app's stay as cold as a new worker's
    fired = completions.fire_due_timers(setup)
    app = create_app(settings)
    svc = app.extensions["cunliao"]
    client = app.test_client()
    out = {"database": url.split(":", 1)[0], "timers_fired_first": fired}
    if not args.cold:
        with counted(svc.db.engine) as seen:
            cpu, wall = time.process_time(), time.perf_counter()
            out["warm"] = warm(svc)
            out["warm"].update(cpu_ms=_ms(time.process_time() - cpu), wall_ms=_ms(time.perf_counter() - wall),
                               statements=len(seen))
        gc.freeze()  # as cunliao.wsgi does after warm
    tokens: dict[str, str] = {}
    runs = []
    for batch in completions.batches(setup, load_forms(settings.workflows_dir / "forms"), args.count):
        for completion in batch:
            if completion.user not in tokens:  # signed in before the clock runs
                tokens[completion.user] = _token(client, completion.user, settings.demo_password)
            with counted(svc.db.engine) as seen:
                cpu, wall = time.process_time(), time.perf_counter()
                answer = client.post(f"/api/v1/tasks/{completion.task_id}/complete", json={"data": completion.data},
                                     headers={"Authorization": f"Bearer {tokens[completion.user]}"})
                runs.append({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                             "statements": list(seen), "status": answer.status_code, "role": completion.role})
    setup.db.dispose()
    out["completions"] = len(runs)
    ok = [r for r in runs if r["status"] == 200]
    out["failed"] = dict(Counter(str(r["status"]) for r in runs if r["status"] != 200))
    if ok:
        out["first"] = _figures(ok[:1])
        out["steady"] = _figures(ok[1:]) if len(ok) > 1 else None
    out["loadavg_1m"] = round(os.getloadavg()[0], 2)
    if args.statements and ok:
        for label, run in (("first", ok[0]), ("last", ok[-1])):
            print(f"-- {label} completion ({run['role']}): {len(run['statements'])} statements", file=sys.stderr)
            for statement in run["statements"]:
                print(f"  {statement}", file=sys.stderr)
    svc.db.dispose()
    print(json.dumps(out, ensure_ascii=False))


def _token(client, username: str, password: str) -> str:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, (username, answer.status_code, answer.get_data(as_text=True)[:300])
    return answer.get_json()["access_token"]


@contextmanager
def counted(engine):
    """The SQL statements sent on ``engine`` (and its write variant) meanwhile, BEGIN/COMMIT of SQLite
    included, each on one line."""
    seen: list[str] = []

    def before(conn, cursor, statement, *_):
        seen.append(" ".join(statement.split())[:200])
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _figures(runs: list[dict]) -> dict:
    return {"n": len(runs), "cpu_ms_median": _ms(statistics.median(r["cpu"] for r in runs)),
            "wall_ms_median": _ms(statistics.median(r["wall"] for r in runs)),
            "statements_median": statistics.median(len(r["statements"]) for r in runs),
            "statements_max": max(len(r["statements"]) for r in runs)}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


if __name__ == "__main__":
    main()

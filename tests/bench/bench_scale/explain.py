"""``python -m tests.bench.bench_scale.explain [--repeat 5] [--plans 1] [--group NAME ...]``

The read paths of the scale benchmark in process (Flask's test client on ``DATABASE_URL``, one
client, no gunicorn): each call of ``measure.py``'s groups (inbox and counts, the case list with
each filter, search, the case page, KPIs city-year and town-year, the dashboard's calls, census
search) ``--repeat`` times, with its p50/p95 in ms; then, on PostgreSQL, ``EXPLAIN (ANALYZE,
BUFFERS)`` of the ``--plans`` slowest SQL statements each call sent. For planning queries on an
inflated city (``inflate.py``), not a replacement for the HTTP figures of ``make bench-scale``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.core.config import Settings
from api.core.services import build_services
from cunliao.app import create_app

from . import measure

_statements: list[tuple[float, str, object]] = []


@event.listens_for(Engine, "before_cursor_execute")
def _started(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("explain_t0", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _finished(conn, cursor, statement, parameters, context, executemany):
    _statements.append((time.perf_counter() - conn.info["explain_t0"].pop(), statement, parameters))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--plans", type=int, default=1, help="slowest statements of each call to EXPLAIN (0: none)")
    ap.add_argument("--group", action="append", help="only these groups (inbox_counts_grid, kpis_city_year …)")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///var/bench-scale.db"
    settings = Settings(database_url=url)
    svc = build_services(settings)
    facts = measure._facts(svc)
    app = create_app(settings)
    client = app.test_client()
    tokens: dict[str, str] = {}
    for name, calls in measure._groups(facts).items():
        if args.group and name not in args.group:
            continue
        times = []
        print(f"== {name}")
        for user, method, path, *body in calls:
            if user not in tokens:
                answer = client.post("/api/v1/auth/token", json={"username": user, "password": settings.demo_password})
                tokens[user] = answer.get_json()["access_token"]
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            mine = []
            for i in range(args.repeat + 1):  # the first is a warm-up
                _statements.clear()
                t0 = time.perf_counter()
                response = client.open(path, method=method, json=body[0] if body else None, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code >= 400:
                    print(f"   {method} {path} as {user}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                    break
                if i:
                    mine.append(elapsed)
            if not mine:
                continue
            times += mine
            slowest = sorted(_statements, key=lambda s: -s[0])
            print(f"   {statistics.median(mine):8.1f} ms p50 {max(mine):8.1f} max  {len(_statements):3d} statements  "
                  f"{user} {method} {_short(path)}")
            if args.plans and url.startswith("postgresql"):
                for seconds, statement, parameters in slowest[:args.plans]:
                    _explain(svc, seconds, statement, parameters)
        if times:
            print(f"-- {name}: p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
                  f"n {len(times)}", flush=True)
    svc.db.dispose()
    app.extensions["cunliao"].db.dispose()


def _short(path: str) -> str:
    parts = urlsplit(path)
    return parts.path + ("?" + parts.query if parts.query else "")


def _explain(svc, seconds: float, statement: str, parameters) -> None:
    print(f"      slowest statement {seconds * 1000:.1f} ms: {' '.join(statement.split())[:300]}")
    raw = svc.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        for (line,) in cursor.fetchall():
            print("        " + line)
    except Exception as exc:  # noqa: BLE001 - a plan that cannot be taken is reported, the run goes on
        print(f"        (no plan: {exc})")
    finally:
        raw.rollback()
        raw.close()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)

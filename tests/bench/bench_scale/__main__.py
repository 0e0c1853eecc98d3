"""``python -m tests.bench.bench_scale [--scale S] [--workers N] [--threads N] [--build-only | --measure-only]``

Builds the city on ``DATABASE_URL`` (default: ``sqlite:///var/bench-scale.db``; everything in that
database is dropped first), measures it through gunicorn and prints ONE JSON line on stdout
(progress on stderr). ``--measure-only`` measures a city built before (its sizes come from the
database)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

from api.core.config import Settings

from . import build, measure, report
from .sizes import Sizes


def log(message: str) -> None:
    print(f"[bench-scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.01, help="fraction of the full city (1.0: 100,000 cases)")
    ap.add_argument("--cases", type=int, default=None,
                    help="cases to run through the engine instead of the scale's share (a quicker build)")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--workers", type=int, default=2, help="processes that drive cases through the engine")
    ap.add_argument("--threads", type=int, default=4, help="concurrent HTTP client threads")
    ap.add_argument("--repeat", type=int, default=5, help="times each request of a group is sent")
    ap.add_argument("--force", action="store_true", help="drop a database whose name lacks 'bench'")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--measure-only", action="store_true")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///var/bench-scale.db"
    settings = Settings(database_url=url)
    sizes = Sizes.of(args.scale)
    if args.cases is not None:
        sizes = replace(sizes, cases=args.cases)
    started = time.perf_counter()
    load_before = os.getloadavg()
    built = None
    if not args.measure_only:
        log(f"building {sizes} on {report.safe_url(url)}")
        build.reset(url, args.force)
        built = build.build(settings, sizes, args.seed, args.workers, log)
        built.pop("city")
    measured = None
    if not args.build_only:
        measured = measure.measure(settings, None, args.threads, args.repeat, log)
    result = report.line(sizes, built, measured, url, load_before, os.getloadavg(), time.perf_counter() - started)
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

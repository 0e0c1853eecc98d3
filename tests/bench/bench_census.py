#!/usr/bin/env python3
"""Census import benchmark: a 50,000-row .xlsx through the dry run and the import.

Run from the repository root (``make bench`` does exactly this)::

    .venv/bin/python tests/bench/bench_census.py            # 50,000 rows, ~1-2 minutes on 2 cores
    .venv/bin/python tests/bench/bench_census.py --rows 5000

It prints JSON lines on stdout (one per phase, then a summary); progress goes to stderr.

1. A realistic workbook is generated: a 人口信息 sheet (姓名, 身份证号 with valid GB 11643 check
   digits, 电话, 户主, 地址, 网格编码 from the demo organisation's grids, 人员类别) with about three
   people per household, and a 填表说明 sheet as local offices add.
2. A fresh SQLite database in a temp dir is migrated and seeded like ``cunliao init-db`` and
   ``seed-demo`` (in a child process, see ``fresh_services``).
3. ``api.census.importer.run`` (the code ``cunliao import-census`` and the API call) runs the dry run,
   then the import, each timed with the file's bytes in memory (reading them is part of the phase).
   ``rows_per_s`` = rows / wall time of the phase (``cpu_seconds``: this process's CPU time, which a
   busy machine does not inflate; SQLite's writes happen in-process, so it covers them too).
   ``maxrss_mb`` is the process's peak resident set (``resource.ru_maxrss``) after the phase,
   ``maxrss_growth_mb`` its growth during the phase.
4. The dry run is repeated under ``tracemalloc`` for the peak of Python allocations
   (``tracemalloc_peak_mb_dry_run_of_existing``: every person now matches a registered one, the
   heavier case), which slows it down, so its time is not reported. The file is streamed, but the
   checked rows of one import are held until it commits (all or nothing; duplicates across the
   file), so memory grows with the rows, bounded by the 50,000-row limit of one import.

``target_rows_per_s`` is 1,000; ``ok`` says whether both phases beat it.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.census import importer as census_import  # noqa: E402
from api.census import ledger  # noqa: E402
from api.core.config import Settings  # noqa: E402
from api.core.services import build_services  # noqa: E402

GRIDS = ("songbu-yangjiawan-g1", "songbu-yangjiawan-g2", "songbu-xindian-g1", "songbu-xindian-g2",
         "guishan-guifeng-g1", "guishan-guifeng-g2", "guishan-shiqiao-g1", "guishan-shiqiao-g2")
VILLAGES = {"songbu-yangjiawan": "宋埠镇杨家湾村", "songbu-xindian": "宋埠镇新店村", "guishan-guifeng": "龟山镇龟峰村",
            "guishan-shiqiao": "龟山镇石桥村"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国红梅志强文军春燕海燕金凤玉兰德胜长青"
REGIONS = ("421181", "421102", "420102")  # 麻城市, 黄州区, 武汉江岸区
FLAG_CHOICES = ("常住", "常住", "常住", "流动", "常住;困难群体", "常住;特殊人群", "流动;重点人员", "")
TARGET = 1000.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def id_number(rng: random.Random, serial: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{serial % 1000:03d}"
    return body + ledger._CHECK[sum(int(d) * w for d, w in zip(body, ledger._WEIGHTS)) % 11]


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def workbook(rows: int, seed: int = 7, grids: tuple[str, ...] = GRIDS) -> bytes:
    """The people sheet: households of 1-5 people at one address in one of ``grids``, unique valid ID numbers."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    notes = book.create_sheet("填表说明")
    notes.append(["带*为必填；人员类别多个用;分隔；身份证号为18位"])
    sheet = book.create_sheet("人口信息")
    sheet.append(["姓名*", "身份证号*", "联系电话", "户主", "现住址", "网格编码*", "人员类别（多个用;分隔）"])
    seen: set[str] = set()
    written = 0
    while written < rows:
        grid = rng.choice(grids)
        village = VILLAGES[grid.rsplit("-", 1)[0]]
        address = f"{village}{rng.randint(1, 12)}组{rng.randint(1, 200)}号"
        head = name(rng)
        for member in range(min(rng.randint(1, 5), rows - written)):
            number = id_number(rng, written)
            while number in seen:
                number = id_number(rng, written + rng.randint(1, 999))
            seen.add(number)
            phone = f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}" if rng.random() < 0.8 else ""
            sheet.append([head if member == 0 else name(rng), number, phone, head, address, grid,
                          rng.choice(FLAG_CHOICES)])
            written += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fresh_services(directory: Path):
    """A migrated, seeded database; seeded in a child process, so the argon2 hashing of the demo
    passwords (memory-hard by design) does not count in this process's peak memory."""
    url = f"sqlite:///{directory / 'census-bench.db'}"
    subprocess.run([sys.executable, "-c", SEED, url], check=True, cwd=ROOT)
    return build_services(Settings(database_url=url))


SEED = """
import sys
from datetime import datetime, timezone
from cunliao.cli import migrate
from api.core.config import Settings
from api.people.seed import seed_demo, sync_reference_data
from api.core.services import build_services
url = sys.argv[1]
migrate(url)
settings = Settings(database_url=url)
svc = build_services(settings)
with svc.db.write() as session, session.begin():
    sync_reference_data(session, svc.roles, settings.workflows_dir)
    seed_demo(session, "bench-password", datetime.now(timezone.utc))
svc.db.dispose()
"""


def maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def phase(svc, name: str, content: bytes, dry_run: bool, rows: int) -> dict:
    gc.collect()
    before = maxrss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    result = census_import.run(svc, [(name, content)], actor="bench", scope_path="/", dry_run=dry_run)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = {"phase": "dry_run" if dry_run else "import", "rows": result.rows, "seconds": round(seconds, 2),
               "cpu_seconds": round(cpu, 2),  # this process only: on a busy machine wall time is longer
               "rows_per_s": round(rows / seconds), "maxrss_mb": maxrss_mb(),
               "maxrss_growth_mb": round(maxrss_mb() - before, 1), "people": result.people,
               "households_created": result.households_created}
    log(f"{figures['phase']}: {rows} rows in {seconds:.1f} s ({figures['rows_per_s']} rows/s)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    log(f"generating a {args.rows}-row workbook")
    started = time.perf_counter()
    content = workbook(args.rows)
    log(f"generated {len(content) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="cunliao-census-bench-") as tmp:
        svc = fresh_services(Path(tmp))
        try:
            baseline = maxrss_mb()
            dry = phase(svc, "人口.xlsx", content, True, args.rows)
            print(json.dumps(dry, ensure_ascii=False), flush=True)
            done = phase(svc, "人口.xlsx", content, False, args.rows)
            print(json.dumps(done, ensure_ascii=False), flush=True)
            assert done["people"]["created"] == args.rows, done
            peak_rss = maxrss_mb()  # before tracemalloc, whose own bookkeeping is large
            log("dry run again under tracemalloc (Python allocations), all 50,000 people now registered")
            tracemalloc.start()
            census_import.run(svc, [("人口.xlsx", content)], actor="bench", scope_path="/", dry_run=True)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            svc.db.dispose()
    summary = {"bench": "census_import", "rows": args.rows, "file_mb": round(len(content) / 1e6, 1),
               "dry_run_rows_per_s": dry["rows_per_s"], "import_rows_per_s": done["rows_per_s"],
               "baseline_maxrss_mb": baseline, "peak_maxrss_mb": peak_rss,
               "tracemalloc_peak_mb_dry_run_of_existing": round(peak / 1e6, 1),
               "target_rows_per_s": TARGET,
               "ok": dry["rows_per_s"] > TARGET and done["rows_per_s"] > TARGET}
    print(json.dumps(summary, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

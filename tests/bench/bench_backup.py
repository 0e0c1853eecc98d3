#!/usr/bin/env python3
"""Backup and restore throughput (``cunliao backup`` / ``cunliao restore``).

Run from the repository root (``make bench`` does)::

    .venv/bin/python tests/bench/bench_backup.py            # ~30 s
    .venv/bin/python tests/bench/bench_backup.py --quick    # smoke run

A fresh SQLite database (or ``--database-url``, an empty one) gets ``--cases`` cases of
``bench_usertasks.bpmn`` and ``--files`` attachment files of 256 KB (random bytes: they do not
compress). Then ``backup`` runs with and without verification, and ``restore`` into a second
place. Prints ONE JSON line: archive size, ``backup_mb_s`` (archive MB / wall seconds, verified),
``backup_copy_only_mb_s`` (no verification), ``restore_mb_s`` (restore including its verification),
and the cases verified per second.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.core.config import Settings  # noqa: E402
from api.core.services import build_services  # noqa: E402
from cunliao.backup import backup, restore  # noqa: E402
from engine.files import FileStore  # noqa: E402

BPMN = ROOT / "tests" / "bench" / "bench_usertasks.bpmn"
FILE_BYTES = 256 * 1024


def log(message: str) -> None:
    print(f"[bench-backup] {message}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cases", type=int, default=None)
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--database-url", default=None, help="an empty database instead of a fresh SQLite file")
    ap.add_argument("--restore-url", default=None, help="an empty database to restore into (PostgreSQL)")
    args = ap.parse_args()
    cases = args.cases or (50 if args.quick else 400)
    files = args.files or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="cunliao-bench-backup-") as work:
        tmp = Path(work)
        url = args.database_url or f"sqlite:///{tmp / 'live.db'}"
        settings = Settings(database_url=url, secret_key="bench", attachments_dir=tmp / "files")
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench")
        for command in (["init-db"], ["deploy", str(BPMN)]):
            subprocess.run([sys.executable, "-m", "cunliao.cli", *command], cwd=ROOT, env=env, check=True,
                           stdout=sys.stderr, stderr=sys.stderr, timeout=120)
        fill(settings, cases, files)
        result = {"cases": cases, "files": files, "database": url.split(":", 1)[0]}

        started = time.monotonic()
        outcome = backup(settings, tmp / "verified.tar")
        verified_s = time.monotonic() - started
        started = time.monotonic()
        backup(settings, tmp / "copy.tar", verify=False)
        copy_s = time.monotonic() - started
        target = replace(settings, database_url=args.restore_url or f"sqlite:///{tmp / 'restored.db'}",
                         attachments_dir=tmp / "restored-files")
        started = time.monotonic()
        checked = restore(target, outcome.path, force=True)
        restore_s = time.monotonic() - started
        if not checked.ok:
            raise SystemExit("restore did not verify: " + "; ".join(checked.failures[:5]))
        mb = outcome.bytes / 1e6
        result.update(archive_mb=round(mb, 1), backup_s=round(verified_s, 2), backup_mb_s=round(mb / verified_s, 1),
                      backup_copy_only_mb_s=round(mb / copy_s, 1), restore_s=round(restore_s, 2),
                      restore_mb_s=round(mb / restore_s, 1),
                      cases_verified_per_s=round(outcome.verification.cases / verified_s, 1))
    print(json.dumps(result))


def fill(settings: Settings, cases: int, files: int) -> None:
    svc = build_services(settings)
    store = FileStore(settings.attachments_dir)
    log(f"starting {cases} cases, storing {files} files")
    for _ in range(cases):
        svc.cases.start("bench_usertasks", {}, "bench", "/macheng/")
    for _ in range(files):
        store.put(os.urandom(FILE_BYTES))
    svc.db.dispose()


if __name__ == "__main__":
    main()

"""What driving cases through the engine costs, in instructions: valgrind's callgrind counts them, not
seconds, so the count is the same on an idle machine and on a busy one (repeated builds agreed within 0.4 %), and two
versions of the code can be compared while other work runs (docs/performance.md).

    .venv/bin/python -m tests.bench.bench_scale.instructions [--cases 20] [--minus 5] [--keep out.callgrind]

Builds a tiny city (``--scale 0.0001``) on a fresh SQLite file under callgrind with counting off, and
counts only while one worker drives the cases in-process (``cases._work``: the engine's steps, the
driver's choices and SQLite's own work in the same process). The worker's start (services, forms,
first caches) is counted too, so the build is done twice, with ``--cases`` and with ``--minus``
cases (the same seed: the smaller city's cases are among the larger one's), and a case's cost is
the difference over the difference in cases. Prints one JSON line. Needs valgrind (Debian's package)."""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

INNER = "--inner"


def main() -> None:
    if sys.argv[1:2] == [INNER]:
        _inner(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--minus", type=int, default=5, help="cases of the smaller build (0: one build, start included)")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--keep", help="keep callgrind's output file of the larger build here (for callgrind_annotate)")
    args = ap.parse_args()
    if not 0 <= args.minus < args.cases:
        ap.error("--minus must be at least 0 and fewer than --cases")
    made, total = _counted(args.cases, args.seed, args.keep)
    small_made, small_total = _counted(args.minus, args.seed) if args.minus else (0, 0)
    print(json.dumps({"bench": "scale_instructions", "seed": args.seed, "cases": made, "instructions": total,
                      "minus": {"cases": small_made, "instructions": small_total},
                      "per_case": round((total - small_total) / (made - small_made))}))


def _counted(cases: int, seed: int, keep: str | None = None) -> tuple[int, int]:
    """(cases made, instructions counted) of one build under callgrind."""
    with tempfile.TemporaryDirectory(prefix="cunliao-instr-") as tmp:
        out = Path(keep or Path(tmp) / "callgrind.out")
        bench = ["--scale", "0.0001", "--cases", str(cases), "--seed", str(seed), "--workers", "1", "--build-only"]
        run = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                              sys.executable, "-m", "tests.bench.bench_scale.instructions", INNER, *bench],
                             env={**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'instr-bench.db'}"},
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"the build under callgrind failed:\n{run.stderr[-3000:]}")
        return int(re.search(r"cases: \d+ planned, (\d+) made", run.stderr).group(1)), _total(out)


def _inner(bench_args: list[str]) -> None:
    """The build, with callgrind counting only while ``cases._work`` runs (workers=1: in this process)."""
    from . import __main__ as bench
    from . import cases

    work = cases._work

    def counted(args):
        _instrument("on")
        try:
            return work(args)
        finally:
            _instrument("off")

    cases._work = counted
    sys.argv = ["bench_scale", *bench_args]
    bench.main()


def _instrument(state: str) -> None:
    subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)


def _total(out: Path) -> int:
    """The instructions counted: callgrind's ``totals:`` line (its ``summary:`` line can be 0 when counting
    starts off)."""
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {out}")


if __name__ == "__main__":
    main()

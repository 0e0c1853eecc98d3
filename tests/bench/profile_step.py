#!/usr/bin/env python3
"""The cost of one step: one task completion profiled in-process, end to end through the WSGI app.

    .venv/bin/python tests/bench/profile_step.py                 # CPU ms per completion (median)
    .venv/bin/python tests/bench/profile_step.py --breakdown     # CPU ms in each part of it
    .venv/bin/python tests/bench/profile_step.py --statements    # the SQL of one completion

Builds the database as ``bench_api.py`` does (fresh SQLite, seed-demo, the bench process), then
completes the 5 tasks of ``--cases`` cases through Flask's test client with the request the bench
sends (same token, body). It measures the CPU time of this process (``time.process_time``), not
wall time; the HTTP server (gunicorn's parsing, the socket) is not included. On a machine shared
with other work even CPU time grows with the load: compare runs taken in turn, or count
instructions (``--complete``, under valgrind's callgrind). docs/performance.md has the figures.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_BPMN = ROOT / "tests" / "bench" / "bench_usertasks.bpmn"
PASSWORD = "bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--complete", type=int, help="complete the tasks of only this many of the cases (default: all); "
                    "two runs differing only here give, by difference, what the completions alone cost (callgrind)")
    ap.add_argument("--profile", help="write a cProfile (CPU-time clock) of the completions here")
    ap.add_argument("--sample", help="write a pyinstrument (sampling, wall clock) text report here; needs pyinstrument")
    ap.add_argument("--statements", action="store_true", help="print the SQL statements of one completion")
    ap.add_argument("--breakdown", action="store_true",
                    help="CPU ms per completion spent in each part (instrumented functions, inclusive)")
    ap.add_argument("--database-url", help="an existing, empty database (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cunliao-step-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'step.db'}"
        os.environ.update(DATABASE_URL=url, DEMO_PASSWORD=PASSWORD, SECRET_KEY="bench-secret")
        for command in (["init-db"], ["seed-demo"], ["deploy", str(BENCH_BPMN)]):
            subprocess.run([sys.executable, "-m", "cunliao.cli", *command], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        from cunliao.app import create_app
        client = create_app().test_client()
        token = client.post("/api/v1/auth/token", json={"username": "mediator", "password": PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        def post(path: str, body: dict, expect: int) -> dict:
            answer = client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)
            assert answer.status_code == expect, (answer.status_code, answer.get_data(as_text=True))
            return answer.get_json()

        def start() -> str:
            return post("/api/v1/cases", {"process_key": "bench_usertasks", "data": {"client": 0}}, 201)["tasks"][0]["id"]

        for _ in range(5):  # warm-up: specs, caches, SQLite pages
            task_id = start()
            for step in range(5):
                case = post(f"/api/v1/tasks/{task_id}/complete", {"data": {f"answer_{step}": {"text": "w", "by": "u"}}}, 200)
                task_id = case["tasks"][0]["id"] if case["tasks"] else None
        task_ids = [start() for _ in range(args.cases)]
        if args.statements:
            print_statements(client.application, lambda: post(
                f"/api/v1/tasks/{task_ids[0]}/complete", {"data": {"answer_0": {"text": "s", "by": "u"}}}, 200))
            task_ids[0] = None
        parts = instrument() if args.breakdown else None
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if args.sample:
            from pyinstrument import Profiler  # optional: a sampling profiler distorts small calls less
            profiler = Profiler(interval=0.0002)
        cpu = []
        for task_id in list(filter(None, task_ids))[:args.complete]:
            for step in range(5):
                body = {"data": {f"answer_{step}": {"text": f"answer {step}", "by": "user-42"}}}
                t0 = time.process_time()
                if profiler:
                    profiler.start() if args.sample else profiler.enable()
                case = post(f"/api/v1/tasks/{task_id}/complete", body, 200)
                if profiler:
                    profiler.stop() if args.sample else profiler.disable()
                cpu.append(time.process_time() - t0)
                task_id = case["tasks"][0]["id"] if case["tasks"] else None
        if args.sample:
            Path(args.sample).write_text(profiler.output_text(show_all=False, unicode=False, color=False))
        elif profiler:
            profiler.dump_stats(args.profile)
    cpu.sort()
    if parts is not None:
        for name, total in parts.items():
            print(f"{total / len(cpu) * 1000:8.3f} ms  {name}", file=sys.stderr)
    print(json.dumps({"completions": len(cpu), "cpu_ms_p50": round(statistics.median(cpu) * 1000, 3),
                      "cpu_ms_mean": round(statistics.fmean(cpu) * 1000, 3),
                      "cpu_ms_p90": round(cpu[int(len(cpu) * 0.9)] * 1000, 3),
                      "db": url.split(":")[0], "profiled": bool(profiler),
                      "loadavg_1m": round(os.getloadavg()[0], 2)}))


# The parts of one completion, outermost first (inclusive: a part contains the ones it calls).
PARTS = [
    ("flask.app:Flask.wsgi_app", "the whole request in Flask (from WSGI call to response)"),
    ("flask.app:Flask.preprocess_request", "before_request hooks (auth, input bounds, rate limit)"),
    ("api.core.auth:authenticate", "  authentication (token lookup)"),
    ("api.core.inputs:check_json_text", "  input bounds (JSON depth, Unicode)"),
    ("webargs.core:Parser.parse", "request body parsing and marshmallow validation"),
    ("engine.cases:CaseService.complete_task", "the command (engine)"),
    ("engine.cases:CaseService._snapshot", "  read task, case, ready tasks"),
    ("engine.runtime:load", "    state load (JSON parse + deserialize)"),
    ("api.cases.tasks:_may_complete", "  permission check"),
    ("api.cases.journal:attachment_problems", "  attachment check"),
    ("api.cases.tasks:_form_context", "  form context (for options/facts)"),
    ("api.cases.formview:option_errors", "  form options/facts resolution"),
    ("engine.steps:checked_data", "  input data check (size)"),
    ("engine.timers:TimerCommands._fire_due_timers_first", "  due timers first"),
    ("api.documents.service:require_documents", "  required documents"),
    ("engine.cases:_validate_form", "  JSON Schema validation"),
    ("api.core.pii:DeclaredFields.__call__", "  PII: declared fields lookup"),
    ("api.core.pii:Vault.seal", "  PII: sealing"),
    ("engine.steps:complete", "  engine step (run task + engine steps)"),
    ("engine.cases:CaseService._change", "  working out the change"),
    ("engine.runtime:prune", "    prune"),
    ("engine.runtime:dump", "    state dump (serialize + JSON)"),
    ("engine.runtime:case_data", "    case data"),
    ("engine.cases:CaseService._diff_tasks", "    task index diff"),
    ("engine.cases:CaseService._commit", "  commit (transaction)"),
    ("engine.store:write", "    writes (case, events, index rows)"),
    ("engine.store:_event_rows", "      event rows (hash chain)"),
    ("engine.cases:CaseService._view", "    the view of the case"),
    ("api.cases.routes:case_out", "answer: case_out"),
    ("api.core.org:display_names", "  display names"),
    ("marshmallow.schema:Schema.dump", "answer: marshmallow dump (CaseOut)"),
    ("api.core.answers:MaskedJSONProvider.dumps", "answer: masked JSON"),
    ("flask.app:Flask.process_response", "after_request hooks (log, metrics, headers)"),
    ("api.core.logs:MaskedJsonFormatter.format", "  access log line (JSON, masked)"),
]


def instrument() -> dict[str, float]:
    """Wrap each function of PARTS to add up the CPU time spent inside it."""
    import functools
    import importlib
    totals: dict[str, float] = {}
    for target, label in PARTS:
        module_name, _, qualname = target.partition(":")
        owner = importlib.import_module(module_name)
        *path, name = qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)
        totals[label] = 0.0

        def wrapped(*a, __original=original, __label=label, **kw):
            t0 = time.process_time()
            try:
                return __original(*a, **kw)
            finally:
                totals[__label] += time.process_time() - t0
        setattr(owner, name, functools.wraps(original)(wrapped))
        for module in list(sys.modules.values()):  # names imported elsewhere with "from x import f"
            if not path and getattr(module, name, None) is original and module is not owner:
                setattr(module, name, getattr(owner, name))
    return totals


def print_statements(app, action) -> None:
    """Each SQL statement (and BEGIN/COMMIT) one completion sends, in order, to stderr."""
    from sqlalchemy import event
    engine = app.extensions["cunliao"].db.engine
    seen: list[str] = []

    def before(conn, cursor, statement, *_):
        seen.append(" ".join(statement.split())[:160])
    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    for statement in seen:
        print(f"  {statement}", file=sys.stderr)
    print(f"{len(seen)} statements", file=sys.stderr)


if __name__ == "__main__":
    main()

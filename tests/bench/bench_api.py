#!/usr/bin/env python3
"""API benchmark: task completions over HTTP against a real gunicorn, next to the bare engine.

Run from the repository root (``make bench`` does exactly this)::

    .venv/bin/python tests/bench/bench_api.py            # ~1-2 minutes on 2 cores
    .venv/bin/python tests/bench/bench_api.py --quick    # smoke run, ~20 s

It prints ONE JSON line on stdout; progress goes to stderr. What it measures, in one run:

1. ``bare_engine_per_s``: the process in ``bench_usertasks.bpmn`` (5 sequential user tasks) run by
   plain SpiffWorkflow in memory, stateless style as in the reference benchmark's part (c)
   (shared/bench/bare_engine): per completion deserialize_json -> complete the next READY user
   task -> do_engine_steps -> serialize_json. One thread; completions per second, median over
   repetitions, instance creation not counted. Measured first, while the machine is quiet.
2. ``api_completions_per_s``, ``p50_ms``, ``p99_ms``: a fresh SQLite database in a temp dir is
   migrated, seeded and given the two bench processes with the ``cunliao`` CLI; gunicorn serves
   ``cunliao.wsgi:app`` with 2 sync workers on loopback. Client processes (one connection per
   request, ``http.client``) each start their own cases, then complete their 5 tasks in turn.
   Throughput = completions / wall time of the completion phase; latency = client-side time of
   each completion request (connect to decoded answer).
3. ``p50_ms_history_1000`` vs ``p50_ms_fresh``: a ``t_loop`` case (a user task on an
   exclusive-gateway back-edge) is driven to 1,000 completions, then completions on it are
   interleaved one for one with completions on fresh ``t_loop`` cases (each used for a few
   rounds only); ``history_factor`` is the ratio of the two medians.

``targets`` and ``ok`` say whether ratio >= 0.3, p99 <= 25 ms and history_factor <= 1.5.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_audit  # noqa: E402  (the audit figures: tests/bench/bench_audit.py)
BENCH_BPMN = ROOT / "tests" / "bench" / "bench_usertasks.bpmn"
LOOP_BPMN = ROOT / "tests" / "fixtures" / "t_loop.bpmn"
BENCH_KEY, LOOP_KEY = "bench_usertasks", "t_loop"
TASKS_PER_CASE = 5
WORKERS = 2
USERNAME, PASSWORD = "mediator", "bench"
TARGETS = {"ratio": 0.3, "p99_ms": 25, "history_factor": 1.5}

now = time.perf_counter


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    ap.add_argument("--clients", type=int, default=WORKERS,
                    help="client processes in the throughput phase (default: one per worker, no queueing)")
    args = ap.parse_args()
    sizes = Sizes.quick() if args.quick else Sizes.full()
    started = now()

    bare_per_s = bench_bare_engine(sizes.bare_instances, sizes.bare_reps)
    log(f"bare engine: {bare_per_s:,.0f} completions/s")

    with tempfile.TemporaryDirectory(prefix="cunliao-bench-") as tmp:
        env = prepare_database(Path(tmp))
        with gunicorn(env, Path(tmp) / "gunicorn.log") as server:
            token = get_token(server)
            warm_up(server, token, args.clients)
            api = bench_throughput(server, token, args.clients, sizes.cases_per_client)
            log(f"API: {api['per_s']:,.0f} completions/s, p50 {api['p50_ms']:.2f} ms, p99 {api['p99_ms']:.2f} ms")
            history = bench_history(server, token, sizes.history_warmup, sizes.history_samples)
            log(f"history: p50 {history['p50_ms_history']:.2f} ms after {sizes.history_warmup} completions, "
                f"fresh {history['p50_ms_fresh']:.2f} ms")

    audit = bench_audit.measure(quick=args.quick)
    log(f"audit: {audit['verify_events_per_s']:,} events/s verified, replay of 100 steps {audit['replay_ms_100_steps']} ms")
    result = report(bare_per_s, api, history, sizes)
    result.update(audit)
    result["targets"] = {**TARGETS, **AUDIT_TARGETS}
    result["ok"].update(verify_events_per_s=audit["verify_events_per_s"] >= AUDIT_TARGETS["verify_events_per_s"],
                        replay_ms_100_steps=audit["replay_ms_100_steps"] <= AUDIT_TARGETS["replay_ms_100_steps"])
    log(f"total {now() - started:.1f} s")
    print(json.dumps(result), flush=True)


@dataclass(frozen=True)
class Sizes:
    bare_instances: int    # bare engine: instances per repetition (5 completions each)
    bare_reps: int
    cases_per_client: int  # API throughput: cases per client process (5 completions each)
    history_warmup: int    # completions on the loop case before measuring it
    history_samples: int   # measured completions on it, and as many on fresh cases

    @classmethod
    def full(cls) -> "Sizes":
        return cls(bare_instances=300, bare_reps=5, cases_per_client=250, history_warmup=1000, history_samples=200)

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(bare_instances=50, bare_reps=3, cases_per_client=20, history_warmup=100, history_samples=40)


# -- 1. the bare engine -------------------------------------------------------------------------

def bench_bare_engine(instances: int, reps: int) -> float:
    """Completions/s of the reference's stateless style (c), median over ``reps``."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BENCH_BPMN))
    spec, subs = parser.get_spec(BENCH_KEY), parser.get_subprocess_specs(BENCH_KEY)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    rates = []
    for _ in range(reps):
        states = []
        for _ in range(instances):
            workflow = BpmnWorkflow(spec, subs)
            workflow.do_engine_steps()
            states.append(serializer.serialize_json(workflow))
        elapsed = 0.0
        for state in states:
            for i in range(TASKS_PER_CASE):
                t0 = now()
                workflow = serializer.deserialize_json(state)
                task = workflow.get_next_task(state=TaskState.READY, manual=True)
                task.data[f"answer_{i}"] = {"text": f"answer {i}", "by": "user-42"}
                task.run()
                workflow.do_engine_steps()
                state = serializer.serialize_json(workflow)
                elapsed += now() - t0
            assert serializer.deserialize_json(state).is_completed()
        rates.append(instances * TASKS_PER_CASE / elapsed)
    return statistics.median(rates)


# -- the server ------------------------------------------------------------------------------------

def prepare_database(tmp: Path) -> dict[str, str]:
    """A fresh SQLite database: migrated, demo users, both bench processes deployed."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", DEMO_PASSWORD=PASSWORD,
               SECRET_KEY="bench-secret", PYTHONUNBUFFERED="1")
    for command in (["init-db"], ["seed-demo"], ["deploy", str(BENCH_BPMN), str(LOOP_BPMN)]):
        log(f"cunliao {' '.join(command)}")
        subprocess.run([sys.executable, "-m", "cunliao.cli", *command], cwd=ROOT, env=env, check=True,
                       stdout=sys.stderr, stderr=sys.stderr, timeout=120)
    return env


class Server:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path):
    """gunicorn with WORKERS sync workers on a free loopback port; always terminated on exit."""
    server = Server("127.0.0.1", free_port())
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"{server.host}:{server.port}",
             "cunliao.wsgi:app"], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(server, proc, log_path)
            log(f"gunicorn ({WORKERS} workers) on port {server.port}")
            yield server
        except BaseException:
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(server: Server, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = now() + timeout
    while now() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {proc.returncode}; see {log_path}")
        try:
            status, _ = request(server, "GET", "/healthz")
            if status == 200:  # "degraded" (no timer worker) is fine here
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")


# -- HTTP client ----------------------------------------------------------------------------------

def request(server: Server, method: str, path: str, body: dict | None = None,
            token: str | None = None) -> tuple[int, dict]:
    """One request on its own connection (gunicorn's sync workers close it after each answer)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def call(server: Server, method: str, path: str, body: dict | None = None, token: str | None = None,
         expect: int = 200) -> dict:
    status, answer = request(server, method, path, body, token)
    if status != expect:
        raise RuntimeError(f"{method} {path} answered {status}: {answer}")
    return answer


def get_token(server: Server) -> str:
    return call(server, "POST", "/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD})["access_token"]


def start_case(server: Server, token: str, process_key: str, data: dict | None = None) -> str:
    """Start a case; return the id of its first READY task."""
    case = call(server, "POST", "/api/v1/cases", {"process_key": process_key, "data": data or {}}, token, expect=201)
    return case["tasks"][0]["id"]


def complete(server: Server, token: str, task_id: str, data: dict) -> tuple[float, str | None]:
    """Complete a task; return the request's latency in seconds and the next READY task's id."""
    t0 = now()
    case = call(server, "POST", f"/api/v1/tasks/{task_id}/complete", {"data": data}, token)
    latency = now() - t0
    return latency, case["tasks"][0]["id"] if case["tasks"] else None


# -- 2. throughput and latency --------------------------------------------------------------------

def warm_up(server: Server, token: str, clients: int) -> None:
    """Load both specs into both workers' caches (and warm SQLite's page cache)."""
    run_clients(server, token, clients, cases_per_client=4)
    for _ in range(2 * WORKERS):
        task_id = start_case(server, token, LOOP_KEY, {"rounds": 3})
        while task_id is not None:
            _, task_id = complete(server, token, task_id, {"note": "warm-up"})
    log("warm-up done")


def bench_throughput(server: Server, token: str, clients: int, cases_per_client: int) -> dict:
    results = run_clients(server, token, clients, cases_per_client)
    latencies = [x for r in results for x in r["latencies"]]
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {"completions": len(latencies), "clients": clients, "wall_s": wall, "per_s": len(latencies) / wall,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def run_clients(server: Server, token: str, clients: int, cases_per_client: int) -> list[dict]:
    """Each client process starts its cases, waits for the others, then completes all their tasks."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    procs = [ctx.Process(target=client, args=(server, token, cases_per_client, barrier, results, n), daemon=True)
             for n in range(clients)]
    for proc in procs:
        proc.start()
    try:
        answers = [results.get(timeout=600) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
    failed = [a for a in answers if "error" in a]
    if failed:
        raise RuntimeError(f"client failed: {failed[0]['error']}")
    return answers


def client(server: Server, token: str, cases: int, barrier, results, number: int) -> None:
    try:
        results.put(drive_cases(server, token, cases, barrier, number))
    except BaseException as exc:  # the parent waits for one answer per client
        barrier.abort()
        results.put({"error": repr(exc)})


def drive_cases(server: Server, token: str, cases: int, barrier, number: int) -> dict:
    task_ids = [start_case(server, token, BENCH_KEY, {"client": number}) for _ in range(cases)]
    barrier.wait(timeout=300)
    latencies = []
    start = time.monotonic()
    for task_id in task_ids:
        for step in range(TASKS_PER_CASE):
            answer = {f"answer_{step}": {"text": f"answer {step}", "by": "user-42"}}
            latency, task_id = complete(server, token, task_id, answer)
            latencies.append(latency)
        assert task_id is None, "the case should be completed after its 5 tasks"
    return {"start": start, "end": time.monotonic(), "latencies": latencies}


# -- 3. long history versus fresh cases -----------------------------------------------------------

def bench_history(server: Server, token: str, warmup: int, samples: int, rounds_per_fresh_case: int = 10) -> dict:
    """p50 of completions on a loop case with ``warmup`` completed rounds versus on fresh loop cases,
    one after the other (one client; the server is otherwise idle)."""
    old_task = start_case(server, token, LOOP_KEY, {"rounds": 100000})
    t0 = now()
    for i in range(warmup):
        _, old_task = complete(server, token, old_task, {"note": f"round {i}"})
    log(f"history warm-up: {warmup} completions in {now() - t0:.1f} s")

    old, fresh = [], []
    fresh_task, fresh_rounds = None, 0
    for i in range(samples):
        latency, old_task = complete(server, token, old_task, {"note": f"round {warmup + i}"})
        old.append(latency)
        if fresh_task is None or fresh_rounds == rounds_per_fresh_case:
            fresh_task, fresh_rounds = start_case(server, token, LOOP_KEY, {"rounds": 100000}), 0
        latency, fresh_task = complete(server, token, fresh_task, {"note": f"round {fresh_rounds}"})
        fresh_rounds += 1
        fresh.append(latency)
    return {"p50_ms_history": percentile(old, 50) * 1000, "p50_ms_fresh": percentile(fresh, 50) * 1000}


# -- the result -----------------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


AUDIT_TARGETS = {"verify_events_per_s": 20_000, "replay_ms_100_steps": 100}


def report(bare_per_s: float, api: dict, history: dict, sizes: Sizes) -> dict:
    ratio = api["per_s"] / bare_per_s
    history_factor = history["p50_ms_history"] / history["p50_ms_fresh"]
    return {
        "api_completions_per_s": round(api["per_s"], 1),
        "p50_ms": round(api["p50_ms"], 2),
        "p99_ms": round(api["p99_ms"], 2),
        "bare_engine_per_s": round(bare_per_s, 1),
        "ratio": round(ratio, 4),
        "p50_ms_history_1000": round(history["p50_ms_history"], 2),
        "p50_ms_fresh": round(history["p50_ms_fresh"], 2),
        "history_factor": round(history_factor, 3),
        "targets": TARGETS,
        "ok": {"ratio": ratio >= TARGETS["ratio"], "p99_ms": api["p99_ms"] <= TARGETS["p99_ms"],
               "history_factor": history_factor <= TARGETS["history_factor"]},
        "completions": api["completions"],
        "clients": api["clients"],
        "history_completions": sizes.history_warmup,
        "workers": WORKERS,
        "db": "sqlite",
        "python": platform.python_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "cpus": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
    }


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Several nodes on one PostgreSQL: one ``cunliao serve`` node, then two, side by side.

Run from the repository root (``make bench-nodes`` does)::

    .venv/bin/python tests/bench/bench_nodes.py              # ~2-3 minutes on 2 cores
    .venv/bin/python tests/bench/bench_nodes.py --quick      # smoke run, ~1 minute
    .venv/bin/python tests/bench/bench_nodes.py --database-url postgresql://postgres@127.0.0.1:5432/cunliao_bench_nodes

The database named by ``--database-url`` (default ``$BENCH_DATABASE_URL``, else
``postgresql://postgres@127.0.0.1:5432/cunliao_bench_nodes``) is DROPPED and created afresh (the
user needs CREATEDB), migrated, seeded, and given ``bench_usertasks.bpmn`` (5 user tasks) and
``bench_timer.bpmn`` (a timer, then a user task). Then, on that one database, two phases:

1. ONE node: ``cunliao serve`` (gunicorn with ``WEB_WORKERS`` = 2 plus its own timer worker);
2. TWO nodes: two ``cunliao serve`` on two ports, each with its gunicorn and its timer worker, one
   shared ``ATTACHMENTS_DIR`` (as a province shares one file store).

In each phase 2 client processes per node (round-robin over the nodes; a bearer token issued by
node 1 is used on every node) start their ``bench_usertasks`` cases, wait for each other, then
complete the 5 tasks of each: the completion workload of ``bench_api.py``. Meanwhile a feeder
starts a ``bench_timer`` case every 0.1 s, round-robin over the nodes, whose timer falls due 2 s
later (the real clock), so the timer workers fire all through the workload. When the clients are
done the phase waits until every timer has fired, then reads the event log:

* ``completions_per_s``, ``p50_ms``, ``p99_ms`` (client-side), ``errors`` (answers other than
  200/201; each client only touches its own cases, so any is a failure);
* ``timers``, ``double_fired`` (cases with more than one ``timer_fired`` event), ``lost`` (cases
  whose timer never fired within 120 s of the last due time), ``timer_lateness_p50_s`` and
  ``_p99_s`` (event instant − due);
* ``claims_by_worker`` (the worker heartbeats' counters: how the firing was shared) and
  ``db_connections`` (server connections held by the nodes at the end of the workload);
* ``cpu_ms_per_completion_nodes`` / ``_db``: CPU time the nodes' processes and their PostgreSQL
  backends spent during the workload (timer firing included) per completion, and ``cores_used``:
  that CPU over the wall time. On a shared machine completions/s says how much CPU the bench got;
  the CPU per completion says what a completion costs, one node or two.

It prints ONE JSON line. The machine is shared and has 2 cores: with two nodes the clients, four
gunicorn workers, two timer workers and PostgreSQL share the same 2 cores, so two nodes cannot
double the throughput here; what the run proves is that nodes share one database correctly (no
lost or doubled timer, no error) and what a second node costs or gains on one machine.
``load_avg_1m`` before and after says how busy the machine was.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import bench_api  # noqa: E402  (its HTTP client and completion workload)
from bench_api import Server, percentile, request  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import Case, CaseEvent, PendingTimer, WorkerHeartbeat  # noqa: E402

USERTASKS_BPMN = ROOT / "tests" / "bench" / "bench_usertasks.bpmn"
TIMER_BPMN = ROOT / "tests" / "bench" / "bench_timer.bpmn"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cunliao_bench_nodes"
PASSWORD = bench_api.PASSWORD
WEB_WORKERS = 2
CLIENTS_PER_NODE = 2
TIMER_WAIT = timedelta(seconds=2)
FEED_EVERY_S = 0.1
FIRE_LIMIT_S = 120.0

now = time.perf_counter


def log(message: str) -> None:
    print(f"[bench-nodes] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Sizes:
    cases_per_client: int
    warmup_cases: int

    @classmethod
    def pick(cls, quick: bool) -> "Sizes":
        return cls(cases_per_client=20, warmup_cases=2) if quick else cls(cases_per_client=100, warmup_cases=4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                    help="a PostgreSQL database to drop and create afresh")
    args = ap.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("bench_nodes needs PostgreSQL: several nodes on one SQLite file is not a deployment")
    sizes = Sizes.pick(args.quick)
    load_before = os.getloadavg()[0]
    started = now()
    with tempfile.TemporaryDirectory(prefix="cunliao-bench-nodes-") as tmp:
        env = prepare_database(args.database_url, Path(tmp))
        phases = {label: run_phase(env, Path(tmp) / label, nodes, sizes)
                  for label, nodes in (("one_node", 1), ("two_nodes", 2))}
    one, two = phases["one_node"], phases["two_nodes"]
    result = {
        "one_node": one, "two_nodes": two,
        "throughput_ratio_two_vs_one": round(two["completions_per_s"] / one["completions_per_s"], 3),
        "ok": all(p["errors"] == 0 and p["double_fired"] == 0 and p["lost"] == 0 for p in phases.values()),
        "web_workers_per_node": WEB_WORKERS, "clients_per_node": CLIENTS_PER_NODE,
        "db": "postgresql", "cpus": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 2), "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "seconds": round(now() - started, 1), "quick": args.quick,
    }
    print(json.dumps(result), flush=True)


# -- the database ---------------------------------------------------------------------------------

def prepare_database(url: str, tmp: Path) -> dict[str, str]:
    recreate(url)
    env = dict(os.environ, DATABASE_URL=url, DEMO_PASSWORD=PASSWORD, SECRET_KEY="bench-nodes", PYTHONUNBUFFERED="1",
               ATTACHMENTS_DIR=str(tmp / "attachments"), WEB_WORKERS=str(WEB_WORKERS))
    for command in (["init-db"], ["seed-demo"], ["deploy", str(USERTASKS_BPMN), str(TIMER_BPMN)]):
        log(f"cunliao {' '.join(command)}")
        subprocess.run([sys.executable, "-m", "cunliao.cli", *command], cwd=ROOT, env=env, check=True,
                       stdout=sys.stderr, stderr=sys.stderr, timeout=300)
    return env


def recreate(url: str) -> None:
    target = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = target.database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    log(f"database {name} created afresh")


# -- the nodes ------------------------------------------------------------------------------------

@contextmanager
def serve_node(env: dict[str, str], folder: Path, number: int):
    """One ``cunliao serve`` (gunicorn + timer worker) on a free port; stopped (SIGTERM, drained) on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    server = Server("127.0.0.1", bench_api.free_port())
    node_env = dict(env, HOST=server.host, PORT=str(server.port),
                    PROMETHEUS_MULTIPROC_DIR=str(folder / f"metrics-{number}"))
    log_path = folder / f"node{number}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cunliao.cli", "serve"], cwd=ROOT, env=node_env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_ready(server, proc, log_path)
        server.session_id = proc.pid  # start_new_session: the node's processes all carry this session id
        log(f"node {number}: cunliao serve on port {server.port} (pid {proc.pid})")
        yield server
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_ready(server: Server, proc: subprocess.Popen, log_path: Path, limit_s: float = 90) -> None:
    """Poll /healthz/ready: the database answers and a timer worker has beaten."""
    deadline = now() + limit_s
    while now() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"cunliao serve exited with code {proc.returncode}; see {log_path}")
        try:
            if request(server, "GET", "/healthz/ready")[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"cunliao serve was not ready within {limit_s:.0f} s")


# -- one phase ------------------------------------------------------------------------------------

def run_phase(env: dict[str, str], folder: Path, nodes: int, sizes: Sizes) -> dict:
    url = env["DATABASE_URL"]
    db = make_engine(url)
    try:
        with ExitStack() as stack:
            servers = [stack.enter_context(serve_node(env, folder, n + 1)) for n in range(nodes)]
            token = bench_api.get_token(servers[0])  # issued by node 1, used on every node
            workers_before = worker_claims(db)
            clients = CLIENTS_PER_NODE * nodes
            run_clients(servers, token, clients, sizes.warmup_cases)  # specs into every worker's cache
            timer_cases: dict[int, float] = {}
            feeding = threading.Event()
            feeding.set()
            feeder = threading.Thread(target=feed_timers, args=(servers, token, feeding, timer_cases), daemon=True)
            feeder.start()
            try:
                cpu_before = cpu_seconds(db, servers)
                results = run_clients(servers, token, clients, sizes.cases_per_client)
                cpu_after = cpu_seconds(db, servers)
                connections = db_connections(db)
            finally:
                feeding.clear()
                feeder.join()
            wait_until_fired(db, list(timer_cases))
            timers = timer_figures(db, list(timer_cases))
            claims = settled_claims(db, workers_before, timers["timers"])
    finally:
        db.dispose()
    latencies = [x for r in results for x in r["latencies"]]
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    cpu = {part: cpu_after[part] - cpu_before[part] for part in cpu_before}
    figures = {
        "nodes": nodes, "clients": clients, "completions": len(latencies),
        "completions_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2), "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "errors": sum(r["errors"] for r in results) + feed_errors(timer_cases),
        **timers, "claims_by_worker": claims, "db_connections": connections,
        # CPU the nodes and their PostgreSQL backends spent in the workload (timers included): what a
        # completion costs whatever else runs on the machine, unlike completions/s on a shared one.
        "cpu_ms_per_completion_nodes": round(cpu["nodes"] * 1000 / len(latencies), 2),
        "cpu_ms_per_completion_db": round(cpu["db"] * 1000 / len(latencies), 2),
        "cores_used": round((cpu["nodes"] + cpu["db"]) / wall, 2),
    }
    log(f"{nodes} node(s): {figures['completions_per_s']} completions/s, p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms; {figures['timers']} timers, {figures['double_fired']} double, "
        f"{figures['lost']} lost; claims {claims}")
    return figures


def run_clients(servers: list[Server], token: str, clients: int, cases_per_client: int) -> list[dict]:
    """Client n talks to node n mod len(servers); each starts its cases, waits for the others, then
    completes all their tasks (bench_api's workload, counting errors instead of stopping)."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    procs = [ctx.Process(target=client, daemon=True,
                         args=(servers[n % len(servers)], token, cases_per_client, barrier, results, n))
             for n in range(clients)]
    for proc in procs:
        proc.start()
    try:
        answers = [results.get(timeout=900) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
    failed = [a for a in answers if "crash" in a]
    if failed:
        raise RuntimeError(f"client failed: {failed[0]['crash']}")
    return answers


def client(server: Server, token: str, cases: int, barrier, results, number: int) -> None:
    try:
        results.put(drive_cases(server, token, cases, barrier, number))
    except BaseException as exc:  # the parent waits for one answer per client
        barrier.abort()
        results.put({"crash": repr(exc)})


def drive_cases(server: Server, token: str, cases: int, barrier, number: int) -> dict:
    task_ids = [bench_api.start_case(server, token, bench_api.BENCH_KEY, {"client": number}) for _ in range(cases)]
    barrier.wait(timeout=600)
    latencies, errors = [], 0
    start = time.monotonic()
    for task_id in task_ids:
        for step in range(bench_api.TASKS_PER_CASE):
            t0 = now()
            status, case = request(server, "POST", f"/api/v1/tasks/{task_id}/complete",
                                   {"data": {f"answer_{step}": {"text": f"answer {step}", "by": "user-42"}}}, token)
            latencies.append(now() - t0)
            if status != 200:
                errors += 1
                break  # this case is off its rails; the next one goes on
            task_id = case["tasks"][0]["id"] if case["tasks"] else None
    return {"start": start, "end": time.monotonic(), "latencies": latencies, "errors": errors}


def feed_timers(servers: list[Server], token: str, feeding: threading.Event, cases: dict[int, float]) -> None:
    """A timer case every FEED_EVERY_S, round-robin over the nodes; its timer falls due 2 s later.
    A failed start is recorded under a negative key (counted as an error)."""
    number = 0
    while feeding.is_set():
        server = servers[number % len(servers)]
        try:
            status, case = request(server, "POST", "/api/v1/cases",
                                   {"process_key": "bench_timer", "data": {"wait": "PT2S"}}, token)
        except OSError:
            status, case = 0, None
        cases[case["id"] if status == 201 else -1 - number] = time.monotonic()
        number += 1
        time.sleep(FEED_EVERY_S)


def feed_errors(cases: dict[int, float]) -> int:
    return sum(1 for case_id in cases if case_id < 0)


# -- what the database says ----------------------------------------------------------------------

def wait_until_fired(db, case_ids: list[int]) -> None:
    """Until no timer of these cases is pending, or FIRE_LIMIT_S (then the rest count as lost)."""
    ids = [c for c in case_ids if c > 0]
    deadline = now() + FIRE_LIMIT_S
    while now() < deadline:
        with db.connect() as conn:
            if not conn.scalar(select(func.count()).select_from(PendingTimer).where(PendingTimer.case_id.in_(ids))):
                return
        time.sleep(0.1)


def timer_figures(db, case_ids: list[int]) -> dict:
    ids = [c for c in case_ids if c > 0]
    with db.connect() as conn:
        created = dict(conn.execute(select(Case.id, Case.created_at).where(Case.id.in_(ids))).all())
        events = conn.execute(select(CaseEvent.case_id, CaseEvent.at)
                              .where(CaseEvent.case_id.in_(ids), CaseEvent.type == "timer_fired")).all()
    fired: dict[int, list] = {}
    for case_id, at in events:
        fired.setdefault(case_id, []).append(at)
    lateness = [(min(ats) - (created[c] + TIMER_WAIT)).total_seconds() for c, ats in fired.items()]
    return {
        "timers": len(ids),
        "fired": len(fired),
        "double_fired": sum(1 for ats in fired.values() if len(ats) > 1),
        "lost": len(set(ids) - set(fired)),
        "timer_lateness_p50_s": round(percentile(lateness, 50), 3) if lateness else None,
        "timer_lateness_p99_s": round(percentile(lateness, 99), 3) if lateness else None,
    }


def worker_claims(db) -> dict[str, int]:
    with db.connect() as conn:
        return dict(conn.execute(select(WorkerHeartbeat.worker_id, WorkerHeartbeat.fired)).all())


def settled_claims(db, before: dict[str, int], timers: int, limit_s: float = 15.0) -> dict[str, int]:
    """Claims per timer worker during the phase. A worker adds its count to its heartbeat row every
    5 s, so wait (bounded) until the counters account for every timer."""
    deadline = now() + limit_s
    while True:
        after = worker_claims(db)
        delta = {w: n - before.get(w, 0) for w, n in after.items() if n - before.get(w, 0) > 0}
        if sum(delta.values()) >= timers or now() > deadline:
            return dict(sorted(delta.items()))
        time.sleep(0.2)


def cpu_seconds(db, servers: list[Server]) -> dict[str, float]:
    """User + system CPU so far of every process of the nodes (by session id) and of the database's
    backends serving them (Linux /proc; the bench runs on the database's machine)."""
    with db.connect() as conn:
        backends = set(conn.scalars(text("SELECT pid FROM pg_stat_activity "
                                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    sessions = {server.session_id for server in servers}
    nodes = db_cpu = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        if int(fields[3]) in sessions:  # the session id
            nodes += seconds
        elif int(stat.parent.name) in backends:
            db_cpu += seconds
    return {"nodes": nodes, "db": db_cpu}


def db_connections(db) -> int:
    """Server connections to this database, not counting the bench's own."""
    with db.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


if __name__ == "__main__":
    main()

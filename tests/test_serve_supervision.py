"""`cunliao serve` as an operator meets it (real gunicorn, real processes): a killed timer worker is
restarted while the web answers; a killed `cunliao serve` leaves no process holding the port; a
database that goes away answers 503 with Retry-After and comes back by itself."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from .conftest import DEMO_PASSWORD, PG_URL
from .test_e2e_server import _free_port, _token, _wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def _start(db_url: str, port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "DEMO_PASSWORD": DEMO_PASSWORD, "HOST": "127.0.0.1",
           "PORT": str(port), "SECRET_KEY": "e2e", "WORKER_POLL_SECONDS": "0.1", "WEB_WORKERS": "1"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(log_path.parent / "metrics")  # a kill -9 leaves it to pytest
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "cunliao.cli", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _children(pid: int) -> dict[int, str]:
    """Direct children of ``pid`` and their command lines."""
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return {}
    result = {}
    for child in map(int, found):
        try:
            result[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            pass
    return result


def _worker_pid(serve_pid: int) -> int | None:
    return next((pid for pid, cmd in _children(serve_pid).items() if "cunliao.cli worker" in cmd), None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen) -> None:
    """Stop a `cunliao serve` and everything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=40)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_killed_worker_is_restarted_and_killed_serve_leaves_no_orphan(db_url, tmp_path):
    port = _free_port()
    process = _start(db_url, port, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: requests.get(f"{base}/healthz/ready", timeout=5).status_code == 200, "ready")
        first = _worker_pid(process.pid)
        grid = _token(base, "grid")
        os.kill(first, signal.SIGKILL)
        # The web keeps answering while the worker is down and after it is back.
        assert requests.get(f"{base}/api/v1/tasks", headers=grid, timeout=10).status_code == 200
        second = _wait_until(lambda: (pid := _worker_pid(process.pid)) not in (None, first) and pid,
                             "a new timer worker")
        _wait_until(lambda: any(w.endswith(f":{second}") for w in _heartbeats(base)), "the new worker's heartbeat")
        assert requests.get(f"{base}/healthz/live", timeout=5).status_code == 200
        assert process.poll() is None
        metrics = requests.get(f"{base}/metrics", timeout=5).text  # gunicorn's workers share the histogram
        assert 'cunliao_http_request_duration_seconds_count{method="GET",route="/api/v1/tasks"}' in metrics

        children = list(_children(process.pid))
        assert len(children) == 2
        os.kill(process.pid, signal.SIGKILL)  # no chance to clean up: the kernel tells the children
        _wait_until(lambda: not any(_alive(pid) for pid in children), "the children to die with their parent")
        _wait_until(lambda: not _port_in_use(port), "the port to be free")
    finally:
        _stop(process)
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "restarting in" in log


def _heartbeats(base: str) -> list[str]:
    body = requests.get(f"{base}/metrics", timeout=5).text
    return [line.split('worker="', 1)[1].split('"', 1)[0] for line in body.splitlines()
            if line.startswith("cunliao_worker_heartbeat_age_seconds{")]


def _terminate_backends(db_url: str) -> None:
    from sqlalchemy import text

    from engine.db import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn:
        ended = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    engine.dispose()
    assert ended > 0


class TcpProxy:
    """Stands between the server and PostgreSQL: ``down()`` is the database going away (every
    connection cut, new ones refused) without touching the shared PostgreSQL server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a bare close() would not stop it)
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        # shutdown() before close(): a close() alone neither wakes the other pump's recv() on the same
        # socket nor sends the FIN while that recv holds it, so the server would wait on a half-dead
        # connection (seen as a 30 s read timeout under load).
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass


@pytest.mark.skipif(not PG_URL, reason="a server database to stop: PostgreSQL (SQLite: tests/test_operations.py)")
def test_database_away_answers_503_and_recovers(db_url, tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.up()
    port = _free_port()
    process = _start(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), port,
                     tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: requests.get(f"{base}/healthz/ready", timeout=5).status_code == 200, "ready")
        grid = _token(base, "grid")
        _terminate_backends(db_url)  # what a PostgreSQL restart does to every pooled connection
        assert requests.get(f"{base}/api/v1/tasks", headers=grid, timeout=30).status_code == 200
        proxy.down()
        for response in (requests.get(f"{base}/api/v1/tasks", headers=grid, timeout=30),
                         requests.post(f"{base}/api/v1/cases", headers=grid, json={"process_key": "x"}, timeout=30)):
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"].startswith("application/problem+json")
            assert int(response.headers["Retry-After"]) > 0
        assert requests.get(f"{base}/healthz/live", timeout=5).status_code == 200
        assert requests.get(f"{base}/healthz/ready", timeout=5).status_code == 503
        proxy.up()
        _wait_until(lambda: requests.get(f"{base}/api/v1/tasks", headers=grid, timeout=10).status_code == 200,
                    "the database to be back")
        children = list(_children(process.pid))
        os.kill(process.pid, signal.SIGTERM)  # drains and stops everything it started
        assert process.wait(timeout=40) == 0
        assert not any(_alive(pid) for pid in children) and not _port_in_use(port)
    finally:
        _stop(process)
        proxy.down()
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Internal server error" not in log and "unhandled error" not in log, log[-3000:]

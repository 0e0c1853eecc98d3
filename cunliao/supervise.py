"""``cunliao serve``'s supervisor: runs gunicorn and the timer worker, restarts either when it dies,
and takes both down with it.

* A child that dies is started again after a back-off (1 s, doubling up to 30 s; back to 1 s once it
  has stayed up a minute), so a crashing timer worker never takes the web tier down with it.
* Every child asks the kernel for SIGTERM when the supervisor dies (``PR_SET_PDEATHSIG``): a
  ``kill -9`` of ``cunliao serve`` leaves no gunicorn holding the port. Gunicorn's own workers
  notice their master is gone and exit.
* SIGTERM/SIGINT drain: gunicorn finishes the requests in flight (``--graceful-timeout``), the timer
  worker gives back its timer claims, and only a child that outlives ``STOP_TIMEOUT`` is killed.
* A timer worker that died holding timer claims (kill -9, out of memory) has them given back at
  once by the supervisor, which knows its id (``host:pid``), instead of waiting out the lease.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("cunliao.serve")

PR_SET_PDEATHSIG = 1
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
STABLE_AFTER = 60.0  # a child up this long has recovered: its next death starts the back-off anew
STOP_TIMEOUT = 20.0
POLL = 0.2


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when the supervisor dies (Linux only)."""

    def _preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return _preexec


@dataclass
class Child:
    name: str
    argv: list[str]
    on_death: Callable[[int], None] | None = None  # called with the dead child's pid
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    children: list[Child]
    cwd: str | None = None
    env: dict[str, str] | None = None
    stopping: bool = field(default=False, init=False)

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        for child in self.children:
            self._start(child)
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                self._watch(child, now)
            time.sleep(POLL)
        self._stop_all()

    def _request_stop(self, *_) -> None:
        self.stopping = True

    def _start(self, child: Child) -> None:
        # Its own process group: Ctrl-C in a terminal reaches only the supervisor, which then stops
        # the children gracefully (gunicorn takes SIGINT as "quit now").
        child.process = subprocess.Popen(child.argv, cwd=self.cwd, env=self.env, process_group=0,
                                         preexec_fn=die_with_parent(os.getpid()))
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def _watch(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                self._start(child)
            return
        code = child.process.poll()
        if code is None:
            return
        if now - child.started_at >= STABLE_AFTER:
            child.backoff = BACKOFF_FIRST
        log.error("%s (pid %s) exited with status %s; restarting in %.0f s", child.name, child.process.pid,
                  code, child.backoff)
        if child.on_death is not None:
            try:
                child.on_death(child.process.pid)
            except Exception:  # the restart matters more than the clean-up
                log.exception("cleaning up after %s failed", child.name)
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        log.info("stopping: draining %d process(es)", len(running))
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %s did not stop in %.0f s; killing it", process.pid, STOP_TIMEOUT)
                process.kill()
                process.wait()

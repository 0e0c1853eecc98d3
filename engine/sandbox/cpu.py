"""The per-call CPU-time limit (``sys.settrace`` + ``time.thread_time()``), and how a failure inside the
sandbox becomes a SandboxError."""
from __future__ import annotations

import _strptime  # noqa: F401  - imported eagerly so datetime.strptime never imports under the CPU tracer
import gc
import logging
import resource
import sys
import threading
import time
import types
from typing import Any, Callable

import simpleeval

from .guards import SCRIPT_FILENAME, SandboxError, SandboxLimits, Timeout


_POLL_SECONDS = 0.002

log = logging.getLogger(__name__)


class CpuBudget:
    """Per-call CPU-time limit via sys.settrace: works in any thread (SIGALRM only works in the main thread).

    The process's garbage collections are not the script's: a full collection in a big process (a web
    worker after hours, the test suite) can take a good part of a second, and it runs in whatever code
    allocates at that moment. Its time is added to the deadline (``_GcPauses``)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.active = True
        thread_time, perf_counter = time.thread_time, time.perf_counter
        self.gc = _GcPauses()
        deadline = thread_time() + seconds
        next_poll = perf_counter() + _POLL_SECONDS

        # The CPU clock costs ~0.3 µs, the wall clock ~0.05 µs: read the CPU clock only every _POLL_SECONDS of
        # wall time. (Counting events instead would multiply the overrun of a loop of slow C calls.)
        def poll() -> bool:
            nonlocal next_poll
            next_poll = perf_counter() + _POLL_SECONDS
            if self.active and not self.gc.collecting and thread_time() - self.gc.spent > deadline:
                self.expired = True
            return self.expired

        def trace_line(frame: types.FrameType, event: str, arg: Any) -> Any:
            if event == 'line' and perf_counter() > next_poll and poll():
                raise Timeout
            return trace_line

        def trace_call(frame: types.FrameType, event: str, arg: Any) -> Any:
            if perf_counter() > next_poll and poll():
                raise Timeout
            # Line events (needed for `while True: pass`) only for sandboxed code, to keep the overhead low.
            return trace_line if frame.f_code.co_filename == SCRIPT_FILENAME else None

        self.trace = trace_call

    def check(self) -> None:
        """Called by every loop iteration and exception handler of a script."""
        if self.expired:
            raise Timeout
        if self.active and sys.gettrace() is None:
            sys.settrace(self.trace)  # switched off after an exception was swallowed elsewhere: on again

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        previous = sys.gettrace()  # e.g. coverage's tracer: restored afterwards
        # first to hear of a collection's start, last of its end: other gc callbacks (traced Python) run
        # while it counts
        gc.callbacks.insert(0, self.gc.begin)
        gc.callbacks.append(self.gc.end)
        sys.settrace(self.trace)
        try:
            return func(*args)
        finally:
            sys.settrace(previous)
            gc.callbacks.remove(self.gc.begin)
            gc.callbacks.remove(self.gc.end)
            self.active = False


def run_pure(seconds: float, func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` under a CPU budget, for code without side effects (an expression, a date parse): a
    timeout is only believed when a second run with a fresh budget times out too.

    The thread's CPU clock can count more than the code: 4 decision-table cells, which take microseconds,
    "took" over a second in the full-size scale run (about 1.2 million steps); the likely cause is a
    virtual machine's host taking the core away while the thread ran. A runaway expression times out
    twice and costs two budgets; a stalled one passes on its second run. Scripts are not re-run: their changes to
    values the task data held are not undone on failure."""
    before, wall = resource.getrusage(_RUSAGE), time.perf_counter()  # the raw struct: this is every expression's path
    try:
        return CpuBudget(seconds).run(func, *args)
    except Timeout:
        after = resource.getrusage(_RUSAGE)
        # What the thread's clock counted, for finding the cause: user and system CPU, page faults,
        # context switches (a host's stall shows as wall time and little else).
        log.warning("sandboxed code exceeded its CPU budget of %g s; running it once more to confirm "
                    "(wall %.3f s; %s)", seconds, time.perf_counter() - wall,
                    ", ".join(f"{label} {getattr(after, field) - getattr(before, field):.3g}"
                              for label, field in _USAGE_FIELDS))
    return CpuBudget(seconds).run(func, *args)


_RUSAGE = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
_USAGE_FIELDS = (("user_s", "ru_utime"), ("system_s", "ru_stime"), ("minor_faults", "ru_minflt"),
                 ("major_faults", "ru_majflt"), ("voluntary_switches", "ru_nvcsw"),
                 ("involuntary_switches", "ru_nivcsw"))


class _GcPauses:
    """Two ``gc.callbacks`` entries: the CPU time this thread spends in garbage collections."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.spent = 0.0
        self.collecting = False
        self._started = 0.0

    def begin(self, phase: str, info: dict) -> None:
        if phase == "start" and threading.get_ident() == self.thread:
            self.collecting, self._started = True, time.thread_time()

    def end(self, phase: str, info: dict) -> None:
        if phase == "stop" and self.collecting:
            self.spent += time.thread_time() - self._started
            self.collecting = False


def as_sandbox_error(err: BaseException, what: str, limits: SandboxLimits) -> SandboxError:
    if isinstance(err, SandboxError):
        return err
    if isinstance(err, Timeout):
        return SandboxError(f'{what} exceeded the CPU time limit of {limits.cpu_seconds:g} s', 'timeout')
    if isinstance(err, MemoryError):
        return SandboxError(f'{what} ran out of memory', 'too_large')
    if isinstance(err, (simpleeval.NumberTooHigh, simpleeval.IterableTooLong)):
        return SandboxError(str(err), 'too_large')
    if isinstance(err, simpleeval.FeatureNotAvailable):
        return SandboxError(str(err), 'forbidden')
    return SandboxError(f'{type(err).__name__}: {err}', 'error')

"""Restricted evaluation of BPMN/DMN scripts and expressions: no file content may run arbitrary Python.

Plug-in: ``PythonScriptEngine(environment=SandboxEnvironment())``. Every evaluation path of SpiffWorkflow 3.2
(script tasks, pre/post scripts, gateway conditions, timers, message payloads/correlations, MI cardinality,
DMN cells, completion conditions) ends in ``environment.evaluate`` / ``environment.execute``. Trusted code that
works on a value BPMN content gave (a timer's date) runs through ``environment.run_limited``, under the same
CPU limit.

* Scripts run as RestrictedPython code (compiled once per text) with our guards: no imports, classes, generators
  or ``with``; no names/attributes starting with ``_``; no ``format``/``format_map``/frame/code attributes; only a
  few constructors on classes; ``+ * ** << %``, f-string fields and size-prone methods are size-checked first.
* Expressions run in simpleeval (``EvalWithCompoundTypes``) with the same attribute policy and size checks. An
  expression only reads: calling a method that changes a list, dict or set is refused.
* CPU time is bounded per call by ``sys.settrace`` + ``time.thread_time()`` (works in any thread, unlike SIGALRM).
* One-step allocations are refused before they happen (sequences > ``max_sequence_length``, integers beyond
  ~4,500 digits); results (task data after a script, an expression's value) are bounded in rough JSON size.
  Memory built up step by step in a loop is bounded by the CPU limit (measured: ~600 MB in 1 s) and, hard, by
  the process memory limit (``PROCESS_MEMORY_LIMIT_MB``): the allocation then fails inside the script.
* Every loop iteration of a script checks the CPU deadline too: the tracer alone is switched off by CPython when
  its Timeout is swallowed (raised while a gc callback or a ``__del__`` runs).
* A script that fails leaves the names of the task data as it found them, so a failure reads the same on every
  machine, however far the script got before its CPU second ran out.
* Timer values (``timer_values``): ISO-8601 dates, durations and cycles within sane bounds, worked out in
  constant time (``engine/bounds.py`` applies them to every timer).

Helpers (``SAFE_FUNCTIONS``, in both): ``len min max sum round sorted abs any all int float str bool list dict
set tuple enumerate zip range Decimal date datetime timedelta`` and ``now()`` (aware UTC datetime from the
injectable clock), ``today()`` (its UTC date), ``parse_date(s)``, ``parse_datetime(s)`` (naive taken as UTC),
``duration('PT2H')`` (a timedelta; years/months refused: no fixed length), ``add_duration(dt, 'P1M')`` (calendar
months, day clamped to the month's end), ``days_between(a, b)`` (whole days from a to b). Scripts also get a few
exception classes for ``try/except``. Extra ``functions`` given to the environment are trusted: pass plain functions.

Modules: ``guards`` (errors, limits, attribute policy, size checks), ``functions`` (the helpers), ``scripts``
(RestrictedPython compilation), ``expressions`` (simpleeval), ``cpu`` (the CPU-time limit), ``environment``
(the SpiffWorkflow plug-in), ``timer_values`` (timer dates, durations and cycles within bounds).

Errors: always :class:`SandboxError`, ``kind`` in forbidden/timeout/too_large/out_of_bounds/error/syntax (runtime
errors keep the original as ``__cause__``). SpiffWorkflow wraps it in ``WorkflowTaskException`` raised inside its
``except`` block, so the SandboxError is the wrapper's ``__context__`` (``error_type == 'SandboxError'``; for
scripts the line is in ``line_number``/``error_line``): use :func:`find_sandbox_error` to get it back.
"""
from __future__ import annotations

from .environment import SandboxEnvironment
from .expressions import check_expression
from .functions import SAFE_FUNCTIONS, add_duration, days_between, duration, parse_date, parse_datetime
from .guards import KINDS, SCRIPT_FILENAME, SandboxError, SandboxLimits, find_sandbox_error, json_size
from .scripts import check_script
from . import timer_values

__all__ = ["KINDS", "SAFE_FUNCTIONS", "SCRIPT_FILENAME", "SandboxEnvironment", "SandboxError", "SandboxLimits",
           "add_duration", "check_expression", "check_script", "days_between", "duration", "find_sandbox_error",
           "json_size", "parse_date", "parse_datetime", "timer_values"]

"""Restricted evaluation of BPMN/DMN scripts and expressions: no file content may run arbitrary Python.

Plug-in: ``PythonScriptEngine(environment=SandboxEnvironment())``. Every evaluation path of SpiffWorkflow 3.2
(script tasks, pre/post scripts, gateway conditions, timers, message payloads/correlations, MI cardinality,
DMN cells, completion conditions) ends in ``environment.evaluate`` / ``environment.execute``.

* Scripts run as RestrictedPython code (compiled once per text) with our guards: no imports, classes, generators
  or ``with``; no names/attributes starting with ``_``; no ``format``/``format_map``/frame/code attributes; only a
  few constructors on classes; ``+ * ** << %``, f-string fields and size-prone methods are size-checked first.
* Expressions run in simpleeval (``EvalWithCompoundTypes``) with the same attribute policy and size checks.
* CPU time is bounded per call by ``sys.settrace`` + ``time.thread_time()`` (works in any thread, unlike SIGALRM).
* One-step allocations are refused before they happen (sequences > ``max_sequence_length``, integers beyond
  ~4,500 digits); results (task data after a script, an expression's value) are bounded in rough JSON size.
  Memory built up step by step in a loop is only bounded by the CPU limit (measured: ~600 MB in 1 s) - use a
  process memory limit (RLIMIT_AS/cgroup) for a hard bound.

Helpers (``SAFE_FUNCTIONS``, in both): ``len min max sum round sorted abs any all int float str bool list dict
set tuple enumerate zip range Decimal date datetime timedelta`` and ``now()`` (aware UTC datetime from the
injectable clock), ``today()`` (its UTC date), ``parse_date(s)``, ``parse_datetime(s)`` (naive taken as UTC),
``duration('PT2H')`` (a timedelta; years/months refused: no fixed length), ``add_duration(dt, 'P1M')`` (calendar
months, day clamped to the month's end), ``days_between(a, b)`` (whole days from a to b). Scripts also get a few
exception classes for ``try/except``. Extra ``functions`` given to the environment are trusted: pass plain functions.

Modules: ``guards`` (errors, limits, attribute policy, size checks), ``functions`` (the helpers), ``scripts``
(RestrictedPython compilation), ``expressions`` (simpleeval), ``cpu`` (the CPU-time limit), ``environment``
(the SpiffWorkflow plug-in).

Errors: always :class:`SandboxError`, ``kind`` in forbidden/timeout/too_large/error/syntax (runtime errors keep
the original as ``__cause__``). SpiffWorkflow wraps it in ``WorkflowTaskException`` raised inside its ``except``
block, so the SandboxError is the wrapper's ``__context__`` (``error_type == 'SandboxError'``; for scripts the
line is in ``line_number``/``error_line``): use :func:`find_sandbox_error` to get it back.
"""
from __future__ import annotations

from .environment import SandboxEnvironment
from .expressions import check_expression
from .functions import SAFE_FUNCTIONS, add_duration, days_between, duration, parse_date, parse_datetime
from .guards import KINDS, SCRIPT_FILENAME, SandboxError, SandboxLimits, find_sandbox_error
from .scripts import check_script

__all__ = ["KINDS", "SAFE_FUNCTIONS", "SCRIPT_FILENAME", "SandboxEnvironment", "SandboxError", "SandboxLimits",
           "add_duration", "check_expression", "check_script", "days_between", "duration", "find_sandbox_error",
           "parse_date", "parse_datetime"]

"""SpiffWorkflow's log record of a task state change, built only when someone reads it.

``Task._set_state`` logs every state change at INFO (DEBUG when the state is set again) and builds
the record first: an f-string, the task's parent looked up by id, and a dict of nine values, plus
the task's data when the ``spiff.task`` logger has no level of its own, which it never has. The
app keeps the ``spiff`` loggers at WARNING (``api/core/logs.py``), so every record is thrown away
after it was built: about 3 % of the instructions of a command. A command changes a task's state
tens of times.

``install`` wraps the method: when the record would be logged, the library's own method runs as
it is; otherwise only the state and its time change, as the library's method changes them.
Installed once, on import of ``engine.runtime``, like the clock (``clock.install_spiff_clock``).
"""
from __future__ import annotations

import logging

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.task import Task

_logger = logging.getLogger("spiff.task")
_library_set_state = Task._set_state


def _set_state(self: Task, value: int) -> None:
    changed = value != self._state
    if _logger.isEnabledFor(logging.INFO if changed else logging.DEBUG):
        _library_set_state(self, value)
    elif changed:
        self.last_state_change = spiff_task.time.time()
        self._state = value


def install() -> None:
    Task._set_state = _set_state

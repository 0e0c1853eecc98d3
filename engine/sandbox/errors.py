"""The sandbox's errors and limits, shared by every part of it."""
from __future__ import annotations

from dataclasses import dataclass

import simpleeval

# SpiffWorkflow looks for traceback frames named '<string>' to report the failing script line, so keep that name.
SCRIPT_FILENAME = '<string>'
KINDS = ('forbidden', 'timeout', 'too_large', 'out_of_bounds', 'error', 'syntax')


class SandboxError(Exception):
    """Any refusal or failure inside the sandbox; ``kind`` is one of :data:`KINDS`."""

    def __init__(self, message: str, kind: str = 'error') -> None:
        super().__init__(message, kind)  # both in args so that pickling keeps the kind
        self.message = message
        self.kind = kind

    def __str__(self) -> str:
        return self.message


def find_sandbox_error(exc: BaseException | None) -> SandboxError | None:
    """Return the SandboxError in ``exc``'s cause/context chain (e.g. under a WorkflowTaskException)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SandboxError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 1.0
    max_result_bytes: int = 1_000_000
    max_sequence_length: int = 100_000


class Timeout(BaseException):
    """Raised from the tracer. A BaseException so that ``except Exception:`` in a script cannot swallow it."""


def forbidden(message: str) -> SandboxError:
    return SandboxError(message, 'forbidden')


def too_large(what: str, limit: int) -> SandboxError:
    return SandboxError(f'{what} would exceed the sandbox size limit ({limit})', 'too_large')




def as_sandbox_error(err: BaseException, what: str, limits: SandboxLimits) -> SandboxError:
    """The SandboxError that stands for ``err`` raised while running ``what`` (a script, an expression...)."""
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

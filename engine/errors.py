"""Engine errors: each says what went wrong in words a person can act on.

The API layer maps them to HTTP problems; the engine itself knows nothing of HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The object changed under the caller: a task no longer ready, a stale version, a state
    that does not allow the command."""

    code = "conflict"


class Stale(Conflict):
    """The case changed between a command's read and its write; reading again may succeed."""


class AlreadyDone(Conflict):
    """Another command did this first: the unique key that lets it happen once (a message's
    idempotency key, an intake's source reference) is taken, and this command wrote nothing."""


class InvalidData(EngineError):
    """Input data that cannot be accepted; ``errors`` maps field paths to messages."""

    code = "invalid_data"

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message, errors=errors or {})
        self.errors = errors or {}


@dataclass(frozen=True)
class ValidationIssue:
    file: str
    element_id: str | None
    line: int | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "element_id": self.element_id, "line": self.line, "message": self.message}


@dataclass
class DefinitionInvalid(EngineError):
    issues: list[ValidationIssue] = field(default_factory=list)

    code = "definition_invalid"

    def __post_init__(self) -> None:
        count = len(self.issues)
        super().__init__(f"{count} validation error{'s' if count != 1 else ''} in the deployed files")

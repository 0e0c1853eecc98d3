"""The database is away (restarting, failing over, unreachable, locked too long): 503 with
``Retry-After``, never 500, and a read that lost its connection is tried once more.

The engine's pool checks each connection before use (``pool_pre_ping``), so a connection the
database dropped while idle is replaced unseen. A connection dropped during a request is noticed by
SQLAlchemy (``connection_invalidated``), which empties the pool; a GET is then run once more on a
fresh connection, since reading twice changes nothing. A write is not repeated here: the client
retries it, with its idempotency key where it has one.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, TimeoutError as PoolTimeout

from .problems import problem

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_unavailable(exc: BaseException) -> bool:
    """Errors that say "the database is not there now", as opposed to a bad query."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def register(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def _database_error(exc: Exception):
        if _may_retry(exc):
            g.database_retried = True
            log.warning("database connection lost during a read; trying it once more")
            return current_app.full_dispatch_request()  # authentication and all, on a new connection
        if not is_unavailable(exc):
            log.exception("database error")
            return problem(500, "an unexpected error occurred; it has been logged",
                           "服务器内部错误，已记录日志，请稍后重试")
        log.warning("database unavailable: %s", _first_line(exc))
        response = problem(503, "the database is unavailable for a moment; retry after a few seconds",
                           "数据库暂时不可用，请稍后重试")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _may_retry(exc: Exception) -> bool:
    return (isinstance(exc, DBAPIError) and exc.connection_invalidated and request.method in SAFE_METHODS
            and not g.get("database_retried"))


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return type(orig).__name__ + ": " + (str(orig).splitlines() or [""])[0]

"""Login rate limiting, shared by every worker process because it lives in the database.

A sliding window over ``login_attempts``: at most ``USERNAME_LIMIT`` failed attempts per username
(since its last successful login) and ``IP_LIMIT`` per client address within ``WINDOW``. A blocked
attempt is not recorded, so the block lifts by itself once old failures leave the window, however
often an attacker keeps trying.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import LoginAttempt
from .problems import ApiProblem, problem

WINDOW = timedelta(minutes=15)
USERNAME_LIMIT = 5
IP_LIMIT = 20
KEEP = timedelta(days=1)  # failures are kept a day for whoever investigates an attack


class TooManyAttempts(ApiProblem):
    """429 with a Retry-After header (handled in ``register``)."""

    def __init__(self, retry_after: int, by: str) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        what = "this username" if by == "username" else "this client address"
        super().__init__(429, f"too many failed logins for {what}; try again in {retry_after} seconds",
                         f"登录失败次数过多，请 {minutes} 分钟后再试", retry_after=retry_after)
        self.retry_after = retry_after


def normalise(username: str) -> str:
    return username.strip().lower()[:100]


def check(session: Session, username: str, ip: str, now: datetime) -> None:
    """Raise TooManyAttempts when the username or the address has used up its failures."""
    since = now - WINDOW
    # Ids, not times, order a success and the failures after it (two may share a timestamp).
    last_success = session.scalar(select(func.max(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(True), LoginAttempt.at > since))
    user_failures = _failures(session, (LoginAttempt.username == username) & (LoginAttempt.id > (last_success or 0)),
                              since)
    ip_failures = _failures(session, LoginAttempt.ip == ip, since)
    waits = []
    if len(user_failures) >= USERNAME_LIMIT:
        waits.append((_wait(user_failures, USERNAME_LIMIT, now), "username"))
    if len(ip_failures) >= IP_LIMIT:
        waits.append((_wait(ip_failures, IP_LIMIT, now), "ip"))
    if waits:
        retry_after, by = max(waits)
        raise TooManyAttempts(retry_after, by)


def record(session: Session, username: str, ip: str, now: datetime, succeeded: bool) -> None:
    session.add(LoginAttempt(username=username, ip=ip[:64], at=now, succeeded=succeeded))
    if not succeeded:
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))


def _failures(session: Session, condition, since: datetime) -> list[datetime]:
    return list(session.scalars(select(LoginAttempt.at).where(
        condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since).order_by(LoginAttempt.at)))


def _wait(failures: list[datetime], limit: int, now: datetime) -> int:
    # The block lifts when enough old failures have left the window to be under the limit again.
    release = failures[len(failures) - limit] + WINDOW
    return max(1, math.ceil((release - now).total_seconds()))


def register(app: Flask) -> None:
    @app.errorhandler(TooManyAttempts)
    def _too_many(exc: TooManyAttempts):
        response = problem(exc.status, exc.detail, exc.message, **exc.extra)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

"""One-time codes that prove a resident holds the phone they give, and the channel's rate limits.

A code is six digits, kept only as a keyed hash, valid for a few minutes and for a few wrong
guesses; using it marks it used. Limits count rows of the channel's own tables over the last hour
(shared by every worker process because they live in the database), like the login limits of
``api.core.ratelimit``, whose 429 answer with ``Retry-After`` they reuse.
"""
from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from api.core.problems import ApiProblem
from api.core.ratelimit import TooManyAttempts

from .models import ResidentCode, ResidentReport
from .rules import Limits
from .sms import SmsGateway

HOUR = timedelta(hours=1)
PHONE = re.compile(r"^1[3-9][0-9]{9}$")
CODE = re.compile(r"^[0-9]{6}$")
WRONG_CODE = "验证码不正确或已过期，请重新获取"
CODE_USED = ApiProblem(422, "this code was already used", "该验证码已使用，请重新获取",
                       errors={"code": "该验证码已使用，请重新获取"})


class TooMany(TooManyAttempts):
    """429 with Retry-After and a message for the resident."""

    def __init__(self, retry_after: int, detail: str, message: str) -> None:
        ApiProblem.__init__(self, 429, detail, message, retry_after=retry_after)
        self.retry_after = retry_after


def normal_phone(value: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 dropped); 422 otherwise."""
    digits = re.sub(r"[\s-]", "", value or "")
    digits = digits[3:] if digits.startswith("+86") else digits
    if not PHONE.match(digits):
        raise ApiProblem(422, "phone must be a mainland mobile number", "请填写正确的 11 位手机号码",
                         errors={"phone": "请填写正确的 11 位手机号码"})
    return digits


def request_code(svc, gateway: SmsGateway, limits: Limits, phone: str, ip: str) -> None:
    """Send a fresh code to ``phone``; 429 when the phone or the address asked too often."""
    now = svc.clock.now()
    phone_hash = svc.vault.identity_hash(phone)
    with svc.db.read() as session:
        by_phone = list(session.scalars(select(ResidentCode.created_at).where(
            ResidentCode.phone_hash == phone_hash, ResidentCode.created_at > now - HOUR)
            .order_by(ResidentCode.created_at)))
        by_ip = session.scalar(select(func.count()).select_from(ResidentCode).where(
            ResidentCode.ip == ip, ResidentCode.created_at > now - HOUR))
    if by_phone and by_phone[-1] > now - timedelta(seconds=limits.code_resend_seconds):
        wait = _seconds(by_phone[-1] + timedelta(seconds=limits.code_resend_seconds) - now)
        raise TooMany(wait, "a code was sent to this phone a moment ago", f"验证码已发送，请 {wait} 秒后再重新获取")
    if len(by_phone) >= limits.codes_per_phone_hour:
        wait = _seconds(by_phone[len(by_phone) - limits.codes_per_phone_hour] + HOUR - now)
        raise TooMany(wait, "too many codes for this phone", _later("该手机号获取验证码次数过多", wait))
    if by_ip >= limits.codes_per_address_hour:
        raise TooMany(600, "too many codes from this address", _later("获取验证码过于频繁", 600))
    code = f"{secrets.randbelow(10 ** 6):06d}"
    with svc.db.write_engine.begin() as conn:
        row_id = conn.execute(insert(ResidentCode.__table__).values(
            phone_hash=phone_hash, code_hash="", ip=ip, created_at=now,
            expires_at=now + timedelta(seconds=limits.code_ttl_seconds), attempts=0, used_at=None)
            .returning(ResidentCode.__table__.c.id)).scalar_one()
        conn.execute(update(ResidentCode.__table__).where(ResidentCode.__table__.c.id == row_id)
                     .values(code_hash=_code_hash(svc, row_id, code)))
    minutes = limits.code_ttl_seconds // 60
    if not gateway.send(phone, "code", f"【村了】您的解纷码验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
                        f"resident-code-{row_id}"):
        raise ApiProblem(503, "the SMS gateway refused the code", "短信发送失败，请稍后再试")


def check_code(svc, limits: Limits, phone: str, code: str) -> tuple[int, bool]:
    """The phone's latest code, checked: ``(id, used)``; a wrong guess is counted and answered 422.
    ``used`` is true for the right code used moments ago (a double submit, answered with the first
    report). A fresh code is marked used by ``mark_used`` in the report's own transaction."""
    if not CODE.match(code or ""):
        raise _wrong("the code must be six digits")
    now = svc.clock.now()
    phone_hash = svc.vault.identity_hash(phone)
    with svc.db.read() as session:
        row = session.scalars(select(ResidentCode).where(ResidentCode.phone_hash == phone_hash)
                              .order_by(ResidentCode.id.desc()).limit(1)).first()
    if row is None or row.expires_at <= now or row.attempts >= limits.code_attempts:
        raise _wrong("no live code for this phone")
    if not secrets.compare_digest(row.code_hash, _code_hash(svc, row.id, code)):
        table = ResidentCode.__table__
        with svc.db.write_engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == row.id).values(attempts=table.c.attempts + 1))
        left = limits.code_attempts - row.attempts - 1
        raise _wrong("wrong code", f"验证码不正确，还可再试 {left} 次" if left > 0 else "验证码错误次数过多，请重新获取")
    return row.id, row.used_at is not None


def mark_used(conn, code_id: int, now) -> None:
    """Use the code in the transaction that stores the report: of two reports racing with one code,
    the second finds it used and stores nothing."""
    table = ResidentCode.__table__
    if conn.execute(update(table).where(table.c.id == code_id, table.c.used_at.is_(None))
                    .values(used_at=now)).rowcount != 1:
        raise CODE_USED


def check_report_limits(svc, limits: Limits, phone_hash: str, ip: str) -> None:
    now = svc.clock.now()
    with svc.db.read() as session:
        by_phone = list(session.scalars(select(ResidentReport.created_at).where(
            ResidentReport.phone_hash == phone_hash, ResidentReport.created_at > now - HOUR)
            .order_by(ResidentReport.created_at)))
        by_ip = session.scalar(select(func.count()).select_from(ResidentReport).where(
            ResidentReport.ip == ip, ResidentReport.created_at > now - HOUR))
    if len(by_phone) >= limits.reports_per_phone_hour:
        wait = _seconds(by_phone[len(by_phone) - limits.reports_per_phone_hour] + HOUR - now)
        raise TooMany(wait, "too many reports from this phone",
                      _later("您提交的次数过多。如情况紧急请直接拨打 110 或联系网格员", wait))
    if by_ip >= limits.reports_per_address_hour:
        raise TooMany(600, "too many reports from this address",
                      _later("提交过于频繁。如情况紧急请直接拨打 110 或联系网格员", 600))


def _code_hash(svc, row_id: int, code: str) -> str:
    # Keyed (the PII key) and bound to the row, so a table dump gives no code by brute force offline.
    return svc.vault.identity_hash(f"resident-code:{row_id}:{code}")


def _wrong(detail: str, message: str = WRONG_CODE) -> ApiProblem:
    return ApiProblem(422, detail, message, errors={"code": message})


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _later(what: str, seconds: int) -> str:
    return f"{what}，请 {max(1, math.ceil(seconds / 60))} 分钟后再试"

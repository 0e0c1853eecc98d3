"""The resident channel's own tables: one-time codes, reports (a resident's link to the case their
intake started) and ratings. Phones are kept only as keyed hashes, plus one sealed copy per report
for the milestone SMS; tracking codes and one-time codes only as hashes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId


class ResidentCode(Base):
    """A one-time code sent to a phone: hashed, expiring, with its wrong attempts counted."""

    __tablename__ = "resident_codes"
    __table_args__ = (Index("ix_resident_codes_phone", "phone_hash", "created_at"),
                      Index("ix_resident_codes_ip", "ip", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ResidentReport(Base):
    """A resident's submission: the case its intake started and the tracking code's hash."""

    __tablename__ = "resident_reports"
    __table_args__ = (Index("ix_resident_reports_phone", "phone_hash", "created_at"),
                      Index("ix_resident_reports_dedupe", "dedupe_hash", "created_at"),
                      Index("ix_resident_reports_ip", "ip", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source_ref: Mapped[str] = mapped_column(String(100), unique=True)  # the intake record's reference
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    dedupe_hash: Mapped[str] = mapped_column(String(64))  # phone + normalised description
    # The phone (for the milestone SMS) and the tracking code (to answer a repeat), encrypted.
    sealed: Mapped[dict[str, Any]] = mapped_column()
    ip: Mapped[str] = mapped_column(String(64))
    unit_path: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime]
    told_stage: Mapped[str] = mapped_column(String(20), default="")  # the last milestone sent by SMS
    told_version: Mapped[int] = mapped_column(default=0)  # the case version the milestone job last looked at


class ResidentRating(Base):
    """The resident's own rating of a closed case (not the grid worker's revisit)."""

    __tablename__ = "resident_ratings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("resident_reports.id"), unique=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    rating: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime]

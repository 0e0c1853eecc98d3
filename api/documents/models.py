"""Issued documents and their number counters.

A document is one number (麻城〔2026〕调字第0012号) of one case; reissuing it makes a new version
under the same number, never an overwrite. Each version is a PDF in the file store (a case
attachment), sealed in the case's audit log by its sha256 and verifiable by its code.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId


class DocumentCounter(Base):
    """The last number given per issuing unit, kind and year; bumped in the transaction that writes
    the document, so numbers are unique and leave no gaps."""

    __tablename__ = "document_counters"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int]


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "year", "seq", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    issuer: Mapped[str] = mapped_column(String(300))  # 宋埠镇杨家湾村人民调解委员会
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    code: Mapped[str] = mapped_column(String(20), unique=True)  # opens /verify/{code}
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int]
    attachment_id: Mapped[int] = mapped_column(BigId, ForeignKey("attachments.id"))
    template_version: Mapped[int]
    template_sha256: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime]
    signed_attachment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attachments.id"), nullable=True)
    signed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(nullable=True)

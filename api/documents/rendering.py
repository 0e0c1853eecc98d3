"""Typesetting one document: the verification QR code, the template's input, the PDF and its pages."""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from pypdf import PdfReader

from engine.templates import CompiledTemplate, Typesetter

from .casedata import chinese_date

# Verification codes: 10 characters without look-alikes (0/O, 1/I/L), ~50 bits: not guessable.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{code}"


def qr_svg(url: str) -> str:
    # A fixed mask pattern (any of the eight is standard) saves scoring all eight: 2 ms instead of 7.
    buffer = io.BytesIO()
    segno.make(url, error="m", mask=0).save(buffer, kind="svg", xmldecl=False, svgns=True, border=0)
    return buffer.getvalue().decode()


@dataclass
class Heading:
    """What every document prints about itself."""

    title: str
    number: str
    version: int
    issuer: str
    issued_at: datetime
    code: str
    url: str

    def as_input(self) -> dict[str, Any]:
        return {"title": self.title, "number": self.number, "version": self.version, "issuer": self.issuer,
                "issued_at": chinese_date(self.issued_at.date()), "verify_code": self.code,
                "verify_url": self.url, "qr": qr_svg(self.url)}


def render(typesetter: Typesetter, template: CompiledTemplate, heading: Heading, body: dict[str, Any],
           assets: dict[str, bytes] | None = None) -> tuple[bytes, int]:
    """(PDF, page count) of ``template`` over the document's heading and the case's ``body``."""
    pdf = typesetter.typeset(template, {"document": heading.as_input(), **body}, assets,
                             timestamp=heading.issued_at.timestamp())
    return pdf, len(PdfReader(io.BytesIO(pdf)).pages)

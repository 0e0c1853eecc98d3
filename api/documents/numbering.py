"""Document numbers (文号): 麻城〔2026〕调字第0012号, per issuing unit, kind and year, without gaps.

The issuing unit is the unit of the person who issues the document (a grid worker issues for their
village's committee). The number is taken in the same transaction that writes the document and its
audit event, by bumping the counter row of (unit, kind, year): two issuers never get the same
number, and a failed issue gives its number back.
"""
from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.core.models import OrgUnit

from .models import DocumentCounter

# Unit kinds whose name goes into the issuer's full name, top down (the city is implied by the prefix).
NAMED_LEVELS = ("town", "village")
UNIT_SUFFIXES = ("街道", "村", "镇", "乡", "市", "县", "区")


def issuing_unit(session: Session, unit_path: str) -> OrgUnit:
    """The unit a person at ``unit_path`` issues for: their own, or the village of their grid."""
    unit = session.scalars(select(OrgUnit).where(OrgUnit.path == unit_path)).one()
    if unit.kind == "grid" and unit.parent_id is not None:
        unit = session.get(OrgUnit, unit.parent_id)
    return unit


def issuer_name(session: Session, unit: OrgUnit, issuer: str) -> str:
    """宋埠镇杨家湾村 + 人民调解委员会: the town and village names above and at the unit, then the
    template's issuer word."""
    chain = session.scalars(select(OrgUnit).where(OrgUnit.path.in_(prefixes(unit.path)))).all()
    names = [u.name for u in sorted(chain, key=lambda u: len(u.path)) if u.kind in NAMED_LEVELS]
    if unit.kind not in NAMED_LEVELS:
        names = [unit.name]
    return "".join(names) + issuer


def number_prefix(unit: OrgUnit) -> str:
    """The short name a number starts with: 麻城市 → 麻城, 宋埠镇 → 宋埠, 杨家湾村 → 杨家湾."""
    for suffix in UNIT_SUFFIXES:
        if unit.name.endswith(suffix) and len(unit.name) > len(suffix) + 1:
            return unit.name[: -len(suffix)]
    return unit.name


def format_number(prefix: str, year: int, word: str, seq: int) -> str:
    return f"{prefix}〔{year}〕{word}字第{seq:04d}号"


def expected_seq(session: Session, unit_id: int, kind: str, year: int) -> int:
    """The number the next document would get if nobody else issued one first (read without a lock)."""
    last = session.scalar(select(DocumentCounter.last).where(
        DocumentCounter.unit_id == unit_id, DocumentCounter.kind == kind, DocumentCounter.year == year))
    return (last or 0) + 1


def take_seq(conn: Connection, unit_id: int, kind: str, year: int) -> int:
    """Bump the counter of (unit, kind, year) and return the new number; the row stays locked until
    the transaction ends, so a concurrent issuer waits and then gets the next one."""
    dialect = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return conn.execute(
        dialect(DocumentCounter).values(unit_id=unit_id, kind=kind, year=year, last=1)
        .on_conflict_do_update(index_elements=["unit_id", "kind", "year"], set_={"last": DocumentCounter.last + 1})
        .returning(DocumentCounter.last)).scalar_one()


def prefixes(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]

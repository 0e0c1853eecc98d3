"""PostgreSQL: the large values a step writes are compressed with LZ4, not pglz

Every command rewrites its case's ``state`` (about 23 kB of JSON at the scale bench's cases),
and PostgreSQL compresses it before moving it out of line. With the default method (pglz) that
cost 0.46 ms of server CPU a write and left 9.7 kB; LZ4 took 0.05 ms and left 4.2 kB (3,000
states of the scale bench, on this machine's PostgreSQL 15; docs/performance.md). Reading it back is faster as
well. Only new values are written so: the rows already there keep pglz, which PostgreSQL reads
as before. SQLite does not compress; a PostgreSQL built without LZ4 keeps pglz.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 13:00:00
"""
from alembic import op

from engine.db import lz4_available


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

COLUMNS = (("cases", "state"), ("cases", "data"), ("case_events", "payload"))


def _set(method: str) -> None:
    if not lz4_available(op.get_bind()):
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")

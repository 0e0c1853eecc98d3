"""case_reach: who may see each case, kept with every case change

Below the city a list's or count's jurisdiction scope was a union of case-id sets over tasks and
fields, built at each query (a town officer's: ~55,000 ids at 10,000 cases, twice a page; 137-182 ms
a list; issue #19). ``case_reach`` holds every way into a case (its unit path and its tasks', the
roles and units its tasks are offered to, their assignees, its watchers), written by
``api/core/reach.refresh`` in the transaction of every change of the case; the scope reads one
index range of it. The backfill runs the same definition over every case, by ranges of ids.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:20:00
"""
import sqlalchemy as sa
from alembic import op

from engine.db import analyze


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STATISTICS = "st_case_reach_kind_role"


def upgrade() -> None:
    op.create_table(
        "case_reach",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "kind", "role", "key"),
    )
    # A unit path prefix must be an index range on PostgreSQL whatever the database's collation
    # (migration 0019): text_pattern_ops there.
    ops = "key text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else "key"
    op.execute(f"CREATE INDEX ix_case_reach_lookup ON case_reach (kind, role, {ops}, case_id)")
    # The app's own definition, so the rows are what the write hook would have written.
    from api.core.reach import backfill
    backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        # kind decides role ('' but for offers): taken for independent, a town's unit paths were
        # estimated at 40% of their rows and its filtered lists took nested loops over 5,000 cases
        # (channel: 145 -> 98 ms p50 on the inflated full city with these statistics).
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (dependencies, mcv) ON kind, role FROM case_reach")
        analyze(op.get_bind(), "case_reach")  # the lists' plans need its row counts at once


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.drop_table("case_reach")

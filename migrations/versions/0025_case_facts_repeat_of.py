"""case_facts.repeat_of: the repeat-dispute flag kept with the cases, not computed at each read

The city-year KPIs computed 反复纠纷 (the same party again within 90 days) for every case at every
read: 141 ms of the query's 247 ms on PostgreSQL at 100,000 cases once the cases had parties, and
630 ms p95 over HTTP against the goal of 500 (issue #19). ``repeat_of`` names the earlier case that
makes a case a repeat; ``api/stats/summary.refresh`` keeps it in the transaction of every change of
either case, and its index finds the cases a change may unset. The backfill computes it with the
same definition (``api/stats/facts.repeat_of``) for the cases that share a party with an earlier one.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 04:30:00
"""
import sqlalchemy as sa
from alembic import op

from engine.db import analyze


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_facts", sa.Column("repeat_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                          nullable=True))
    op.create_index("ix_case_facts_repeat_of", "case_facts", ["repeat_of"])
    # The app's own definition, so the values are what the write hook would have written.
    from api.stats.summary import backfill_repeats
    backfill_repeats(op.get_bind())
    analyze(op.get_bind(), "case_facts")  # PostgreSQL: the new column's statistics, for the refresh's lookup


def downgrade() -> None:
    op.drop_index("ix_case_facts_repeat_of", table_name="case_facts")
    with op.batch_alter_table("case_facts") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("repeat_of")

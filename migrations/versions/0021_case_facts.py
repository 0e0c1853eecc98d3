"""case_facts: the clock-free KPI facts of each counted case, kept with every case change

The KPIs derived a dozen flags per case from its tasks, fields and outbox at every read: 589 ms
for a city's year and 2.4-3.6 s for the dashboard's all-time figures at 100,000 cases (issue #19,
docs/performance.md "Full size"). ``case_facts`` holds them, one row per case of the counted
processes, written by ``api/stats/summary.refresh`` in the transaction of every change of the case;
the KPIs add the parts the clock and other tables change (overdue tasks, residents' ratings, repeat
disputes) at read time. The backfill runs the same definition over every case.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 07:10:00
"""
import sqlalchemy as sa
from alembic import op

from engine.db import analyze


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

FLAGS = ("counted", "cases", "leads", "resolved", "transferred", "closed", "late_done", "revisited", "satisfied",
         "emergencies", "petitions", "recurrences", "one_key_calls", "one_key_answered", "one_key_in_time")
MORE_FLAGS = ("first_signed", "sign_late_done", "red_cases", "leader_cases", "red_revisits")


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in FLAGS],
        sa.Column("one_key_seconds", sa.Float(), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in MORE_FLAGS],
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
    )
    # The app's own definition, so the rows are what the write hook would have written.
    from api.stats.summary import backfill
    backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":  # the KPIs' plans need its row counts at once
        analyze(op.get_bind(), "case_facts")


def downgrade() -> None:
    op.drop_table("case_facts")

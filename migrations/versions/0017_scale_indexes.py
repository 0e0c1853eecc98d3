"""scale indexes: the registration window of the KPIs and the case list, and a user's completed tasks

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 17:30:00

Found by ``make bench-scale`` (docs/performance.md, "Scale"): every KPI and the case list's date
filter select cases by ``created_at``, which had no index (a scan of all cases for a year's figures);
the inbox's 已办 count (``tasks/counts``) selects ``state = 'completed' AND closed_by = user``, which
the inbox index (state, role, jurisdiction) answers only by reading every completed task; the
KPIs' one-key figures look up ``intake_responses`` by case (a scan per counted case).
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_created_at', 'cases', ['created_at'], unique=False)
    op.create_index('ix_case_tasks_closed_by', 'case_tasks', ['closed_by', 'state'], unique=False)
    op.create_index('ix_intake_responses_case_id', 'intake_responses', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_responses_case_id', table_name='intake_responses')
    op.drop_index('ix_case_tasks_closed_by', table_name='case_tasks')
    op.drop_index('ix_cases_created_at', table_name='cases')

"""first handler (首办负责人) of a case: the first person who signed for it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_handler', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_cases_first_handler', ['first_handler'], unique=False)
    # Cases from before: the first actor who claimed or completed one of their tasks.
    op.execute("UPDATE cases SET first_handler = (SELECT e.actor FROM case_events e WHERE e.case_id = cases.id "
               "AND e.type IN ('task_claimed', 'task_completed') ORDER BY e.seq LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_first_handler')
        batch_op.drop_column('first_handler')

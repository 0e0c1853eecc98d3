"""outbox state: delivered or undeliverable (dead letters)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.create_index('ix_message_outbox_state', ['state', 'id'], unique=False)
    # Rows settled before: their outcome says whether they reached a case.
    op.execute("UPDATE message_outbox SET state = CASE WHEN outcome LIKE 'delivered to %' THEN 'delivered' "
               "ELSE 'undeliverable' END WHERE settled_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_message_outbox_state')
        batch_op.drop_column('state')

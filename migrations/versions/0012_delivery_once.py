"""delivery once: outbox state (delivered or undeliverable: dead letters); new-task and overdue
notifications told once per task and person

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ONCE = "kind IN ('new_task', 'overdue')"


def upgrade() -> None:
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.create_index('ix_message_outbox_state', ['state', 'id'], unique=False)
    # Rows settled before: their outcome says whether they reached a case.
    op.execute("UPDATE message_outbox SET state = CASE WHEN outcome LIKE 'delivered to %' THEN 'delivered' "
               "ELSE 'undeliverable' END WHERE settled_at IS NOT NULL")
    # Two workers' rounds could both tell of one task; keep the first of each such pair.
    op.execute(f"DELETE FROM notifications WHERE {ONCE} AND id NOT IN (SELECT MIN(id) FROM notifications "
               f"WHERE {ONCE} GROUP BY kind, task_id, username)")
    op.create_index('uq_notifications_once', 'notifications', ['kind', 'task_id', 'username'], unique=True,
                    sqlite_where=sa.text(ONCE), postgresql_where=sa.text(ONCE))


def downgrade() -> None:
    op.drop_index('uq_notifications_once', table_name='notifications')
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_message_outbox_state')
        batch_op.drop_column('state')

"""message outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:06:55.021797
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sender_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('correlation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['sender_case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_outbox_sender_case_id'), ['sender_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_outbox_settled_at'), ['settled_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('message_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_outbox_settled_at'))
        batch_op.drop_index(batch_op.f('ix_message_outbox_sender_case_id'))

    op.drop_table('message_outbox')

"""sla rules and calendar

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:16:01.637722
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('sla_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('duration', sa.String(length=40), nullable=False),
    sa.Column('calendar', sa.String(length=10), nullable=False),
    sa.Column('basis', sa.String(length=400), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'effective_from')
    )
    with op.batch_alter_table('sla_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_rules_key'), ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sla_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_rules_key'))

    op.drop_table('sla_rules')
    op.drop_table('calendar_days')

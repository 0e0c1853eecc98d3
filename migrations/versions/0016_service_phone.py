"""users' public service phone (服务电话): the number a grid worker publishes on the 公示牌, shown on
a resident's tracking page as their contact card

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 16:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_phone', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('service_phone')

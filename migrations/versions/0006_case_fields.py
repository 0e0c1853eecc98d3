"""case fields

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:48:41.195931
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_fields',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_fields', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_fields_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_fields_lookup', ['name', 'value'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_fields', schema=None) as batch_op:
        batch_op.drop_index('ix_case_fields_lookup')
        batch_op.drop_index(batch_op.f('ix_case_fields_case_id'))

    op.drop_table('case_fields')

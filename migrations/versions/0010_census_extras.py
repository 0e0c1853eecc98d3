"""census extras: houses and land, one-key response records

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 03:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Houses, land, events, things and organisations are census_items rows (kind + JSON attributes):
    # no new columns. A one-key call's response (call received -> answered) is its own record.
    op.create_table('intake_responses',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('record_id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('received_at', WHEN, nullable=False),
    sa.Column('due_at', WHEN, nullable=True),
    sa.Column('answered_at', WHEN, nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('response_seconds', sa.Integer(), nullable=True),
    sa.Column('within_window', sa.Boolean(), nullable=True),
    sa.Column('escalated_at', WHEN, nullable=True),
    sa.Column('recorded_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['intake_records.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_id', name='uq_intake_responses_record')
    )


def downgrade() -> None:
    op.drop_table('intake_responses')

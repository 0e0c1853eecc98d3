"""census: grid census people, items, history, weekly rounds and visits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 02:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('census_items',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('grid_path', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('attributes', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_census_items_grid_kind', 'census_items', ['grid_path', 'kind'], unique=False)
    op.create_table('census_people',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('grid_path', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_no', JSON, nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', JSON, nullable=True),
    sa.Column('household_id', BIG_ID, nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('flags', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['census_items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_hash', name='uq_census_people_id_hash')
    )
    op.create_index('ix_census_people_grid', 'census_people', ['grid_path'], unique=False)
    op.create_table('census_changes',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', BIG_ID, nullable=False),
    sa.Column('grid_path', sa.String(length=400), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', WHEN, nullable=False),
    sa.Column('before', JSON, nullable=True),
    sa.Column('after', JSON, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_census_changes_target', 'census_changes', ['target_type', 'target_id'], unique=False)
    op.create_index('ix_census_changes_grid_path', 'census_changes', ['grid_path'], unique=False)
    op.create_table('census_rounds',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('grid_path', sa.String(length=400), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('window_start', WHEN, nullable=False),
    sa.Column('window_end', WHEN, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('grid_path', 'week_start', name='uq_census_rounds_grid_week')
    )
    op.create_index('ix_census_rounds_grid_path', 'census_rounds', ['grid_path'], unique=False)
    op.create_table('census_round_items',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('round_id', BIG_ID, nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', BIG_ID, nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('verified_at', WHEN, nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('visit_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['census_rounds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'target_type', 'target_id', name='uq_census_round_items')
    )
    op.create_index('ix_census_round_items_round_id', 'census_round_items', ['round_id'], unique=False)
    op.create_table('census_visits',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('round_id', BIG_ID, nullable=True),
    sa.Column('grid_path', sa.String(length=400), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', WHEN, nullable=False),
    sa.Column('ended_at', WHEN, nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('verified', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['census_rounds.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_census_visits_grid_path', 'census_visits', ['grid_path'], unique=False)
    op.create_index('ix_census_visits_worker_start', 'census_visits', ['worker', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_census_visits_worker_start', table_name='census_visits')
    op.drop_index('ix_census_visits_grid_path', table_name='census_visits')
    op.drop_table('census_visits')
    op.drop_index('ix_census_round_items_round_id', table_name='census_round_items')
    op.drop_table('census_round_items')
    op.drop_index('ix_census_rounds_grid_path', table_name='census_rounds')
    op.drop_table('census_rounds')
    op.drop_index('ix_census_changes_grid_path', table_name='census_changes')
    op.drop_index('ix_census_changes_target', table_name='census_changes')
    op.drop_table('census_changes')
    op.drop_index('ix_census_people_grid', table_name='census_people')
    op.drop_table('census_people')
    op.drop_index('ix_census_items_grid_kind', table_name='census_items')
    op.drop_table('census_items')

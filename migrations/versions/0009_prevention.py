"""prevention work: screening lists, key-person plans, patrols

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 03:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('screening_lists',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('screeners', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_screening_lists_area_path', 'screening_lists', ['area_path'], unique=False)
    op.create_table('screening_entries',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('list_id', BIG_ID, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('person_id', BIG_ID, nullable=True),
    sa.Column('household_id', BIG_ID, nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('personal', JSON, nullable=False),
    sa.Column('indicators', JSON, nullable=False),
    sa.Column('risk_level', sa.String(length=10), nullable=False),
    sa.Column('screeners', JSON, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('case_id', BIG_ID, nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['screening_lists.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['census_people.id'], ),
    sa.ForeignKeyConstraint(['household_id'], ['census_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_screening_entries_list_id', 'screening_entries', ['list_id'], unique=False)
    op.create_index('ix_screening_entries_area_path', 'screening_entries', ['area_path'], unique=False)
    op.create_table('followup_plans',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('person_id', BIG_ID, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=False),
    sa.Column('responsible_user', sa.String(length=100), nullable=True),
    sa.Column('responsible_unit', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('closed_at', WHEN, nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['census_people.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_followup_plans_person_status', 'followup_plans', ['person_id', 'status'], unique=False)
    op.create_index('ix_followup_plans_area_path', 'followup_plans', ['area_path'], unique=False)
    # one active plan per person, even when two people create one at the same moment
    op.create_index('uq_followup_plans_active_person', 'followup_plans', ['person_id'], unique=True,
                    sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
    op.create_table('patrol_teams',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('members', JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_patrol_teams_area_path', 'patrol_teams', ['area_path'], unique=False)
    op.create_table('patrol_logs',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('team_id', BIG_ID, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('patrol_date', sa.Date(), nullable=False),
    sa.Column('started_at', WHEN, nullable=False),
    sa.Column('ended_at', WHEN, nullable=False),
    sa.Column('route', sa.String(length=300), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('issues', JSON, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['patrol_teams.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_patrol_logs_team_date', 'patrol_logs', ['team_id', 'patrol_date'], unique=False)
    op.create_index('ix_patrol_logs_area_path', 'patrol_logs', ['area_path'], unique=False)
    op.create_table('prevention_changes',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', BIG_ID, nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', WHEN, nullable=False),
    sa.Column('before', JSON, nullable=True),
    sa.Column('after', JSON, nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_prevention_changes_target', 'prevention_changes', ['target_type', 'target_id'], unique=False)
    op.create_index('ix_prevention_changes_area_path', 'prevention_changes', ['area_path'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_prevention_changes_area_path', table_name='prevention_changes')
    op.drop_index('ix_prevention_changes_target', table_name='prevention_changes')
    op.drop_table('prevention_changes')
    op.drop_index('ix_patrol_logs_area_path', table_name='patrol_logs')
    op.drop_index('ix_patrol_logs_team_date', table_name='patrol_logs')
    op.drop_table('patrol_logs')
    op.drop_index('ix_patrol_teams_area_path', table_name='patrol_teams')
    op.drop_table('patrol_teams')
    op.drop_index('ix_followup_plans_area_path', table_name='followup_plans')
    op.drop_index('ix_followup_plans_person_status', table_name='followup_plans')
    op.drop_table('followup_plans')
    op.drop_index('ix_screening_entries_area_path', table_name='screening_entries')
    op.drop_index('ix_screening_entries_list_id', table_name='screening_entries')
    op.drop_table('screening_entries')
    op.drop_index('ix_screening_lists_area_path', table_name='screening_lists')
    op.drop_table('screening_lists')

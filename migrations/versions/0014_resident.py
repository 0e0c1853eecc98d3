"""resident channel (解纷码): one-time codes, reports and the residents' own ratings

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'resident_codes',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_resident_codes_phone', 'resident_codes', ['phone_hash', 'created_at'])
    op.create_index('ix_resident_codes_ip', 'resident_codes', ['ip', 'created_at'])
    op.create_table(
        'resident_reports',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('tracking_hash', sa.String(length=64), nullable=False),
        sa.Column('source_ref', sa.String(length=100), nullable=False),
        sa.Column('case_id', BIG_ID, nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('dedupe_hash', sa.String(length=64), nullable=False),
        sa.Column('sealed', JSON, nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('unit_path', sa.String(length=400), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('told_stage', sa.String(length=20), nullable=False),
        sa.Column('told_version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tracking_hash'),
        sa.UniqueConstraint('source_ref'))
    op.create_index('ix_resident_reports_case_id', 'resident_reports', ['case_id'])
    op.create_index('ix_resident_reports_phone', 'resident_reports', ['phone_hash', 'created_at'])
    op.create_index('ix_resident_reports_dedupe', 'resident_reports', ['dedupe_hash', 'created_at'])
    op.create_index('ix_resident_reports_ip', 'resident_reports', ['ip', 'created_at'])
    op.create_table(
        'resident_ratings',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('report_id', BIG_ID, nullable=False),
        sa.Column('case_id', BIG_ID, nullable=False),
        sa.Column('rating', sa.String(length=10), nullable=False),
        sa.Column('comment', sa.String(length=500), nullable=False),
        sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['resident_reports.id']),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('report_id'))
    op.create_index('ix_resident_ratings_case_id', 'resident_ratings', ['case_id'])


def downgrade() -> None:
    op.drop_table('resident_ratings')
    op.drop_table('resident_reports')
    op.drop_table('resident_codes')

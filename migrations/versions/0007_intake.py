"""intake: per-channel API keys, intake records, party hashes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 02:20:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('intake_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index('ix_intake_keys_channel', 'intake_keys', ['channel'], unique=False)
    op.create_table('intake_records',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('case_id', BIG_ID, nullable=True),
    sa.Column('case_no', sa.String(length=40), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reply_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('linked_cases', JSON, nullable=False),
    sa.Column('last_reported_version', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'source_ref', name='uq_intake_records_channel_ref')
    )
    op.create_index('ix_intake_records_case_id', 'intake_records', ['case_id'], unique=False)
    op.create_table('intake_parties',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('record_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['intake_records.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_intake_parties_record_id', 'intake_parties', ['record_id'], unique=False)
    op.create_index('ix_intake_parties_hash', 'intake_parties', ['kind', 'hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_parties_hash', table_name='intake_parties')
    op.drop_index('ix_intake_parties_record_id', table_name='intake_parties')
    op.drop_table('intake_parties')
    op.drop_index('ix_intake_records_case_id', table_name='intake_records')
    op.drop_table('intake_records')
    op.drop_index('ix_intake_keys_channel', table_name='intake_keys')
    op.drop_table('intake_keys')

"""documents: deployed templates, issued documents, number counters

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('document_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('files', JSON, nullable=False),
    sa.Column('deployed_by', sa.String(length=200), nullable=False),
    sa.Column('deployed_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'version')
    )
    op.create_index('ix_document_templates_key', 'document_templates', ['key'])
    op.create_table('document_counters',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('unit_id', 'kind', 'year')
    )
    op.create_table('documents',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('attachment_id', BIG_ID, nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('template_sha256', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('issued_at', WHEN, nullable=False),
    sa.Column('signed_attachment_id', BIG_ID, nullable=True),
    sa.Column('signed_by', sa.String(length=200), nullable=True),
    sa.Column('signed_at', WHEN, nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], ),
    sa.ForeignKeyConstraint(['signed_attachment_id'], ['attachments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('unit_id', 'kind', 'year', 'seq', 'version')
    )
    op.create_index('ix_documents_case_id', 'documents', ['case_id'])
    op.create_index('ix_documents_number', 'documents', ['number'])


def downgrade() -> None:
    op.drop_table('documents')
    op.drop_table('document_counters')
    op.drop_table('document_templates')

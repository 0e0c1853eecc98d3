"""building heads (楼栋长/组长): the roster of each grid's building and group heads

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'building_heads',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('grid_path', sa.String(length=400), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('grid_path', 'label', name='uq_building_heads_grid_label'),
    )
    op.create_index('ix_building_heads_grid_path', 'building_heads', ['grid_path'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_building_heads_grid_path', table_name='building_heads')
    op.drop_table('building_heads')

"""community work: 五会一队 rosters and appointments, events and raised issues, contact cards, campaign tags

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:40:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_tags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('campaign', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tagged_by', sa.String(length=100), nullable=False),
    sa.Column('tagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target_type', 'target_id', 'campaign', name='uq_campaign_tags_target')
    )
    with op.batch_alter_table('campaign_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_tags_area_path'), ['area_path'], unique=False)
        batch_op.create_index('ix_campaign_tags_campaign', ['campaign'], unique=False)

    op.create_table('community_changes',
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_changes_area_path'), ['area_path'], unique=False)
        batch_op.create_index('ix_community_changes_target', ['target_type', 'target_id'], unique=False)

    op.create_table('community_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('attendees', sa.Integer(), nullable=False),
    sa.Column('police_present', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('topics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_events_area_path'), ['area_path'], unique=False)
        batch_op.create_index('ix_community_events_held_on', ['held_on'], unique=False)

    op.create_table('community_orgs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_orgs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_orgs_area_path'), ['area_path'], unique=False)

    op.create_table('community_issues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('raised_by', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('case_no', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['community_events.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_issues_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_issues_event_id'), ['event_id'], unique=False)

    op.create_table('community_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('personal', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['community_orgs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_members_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_members_org_id'), ['org_id'], unique=False)

    op.create_table('contact_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('cadre', sa.String(length=100), nullable=False),
    sa.Column('personal', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['census_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_cards_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_cards_household_id'), ['household_id'], unique=False)

    op.create_table('community_appointments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('area_path', sa.String(length=400), nullable=False),
    sa.Column('role', sa.String(length=60), nullable=False),
    sa.Column('appointed_by', sa.String(length=100), nullable=False),
    sa.Column('appointed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['community_members.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['community_orgs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'case_id', name='uq_community_appointments_member_case')
    )
    with op.batch_alter_table('community_appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_appointments_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_appointments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_appointments_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('community_appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_appointments_member_id'))
        batch_op.drop_index(batch_op.f('ix_community_appointments_case_id'))
        batch_op.drop_index(batch_op.f('ix_community_appointments_area_path'))

    op.drop_table('community_appointments')
    with op.batch_alter_table('contact_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_cards_household_id'))
        batch_op.drop_index(batch_op.f('ix_contact_cards_area_path'))

    op.drop_table('contact_cards')
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_members_org_id'))
        batch_op.drop_index(batch_op.f('ix_community_members_area_path'))

    op.drop_table('community_members')
    with op.batch_alter_table('community_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_issues_event_id'))
        batch_op.drop_index(batch_op.f('ix_community_issues_area_path'))

    op.drop_table('community_issues')
    with op.batch_alter_table('community_orgs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_orgs_area_path'))

    op.drop_table('community_orgs')
    with op.batch_alter_table('community_events', schema=None) as batch_op:
        batch_op.drop_index('ix_community_events_held_on')
        batch_op.drop_index(batch_op.f('ix_community_events_area_path'))

    op.drop_table('community_events')
    with op.batch_alter_table('community_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_community_changes_target')
        batch_op.drop_index(batch_op.f('ix_community_changes_area_path'))

    op.drop_table('community_changes')
    with op.batch_alter_table('campaign_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_tags_campaign')
        batch_op.drop_index(batch_op.f('ix_campaign_tags_area_path'))

    op.drop_table('campaign_tags')

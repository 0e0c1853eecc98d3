"""case_fields lookup index ends in case_id

A case list filtered by an indexed field (risk level, category, 五小 …) looked the field's rows up
by (name, value) and then read each row for its case id; a town's page walked the town's newest
cases and probed their fields, and its count read every matching row (issue #19: a town's "red"
list took 179 ms in process at 100,000 cases). With ``case_id`` last in the index the matching
case ids come from the index alone, newest first: 79 ms on the same city.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 19:45:00
"""
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_case_fields_lookup", table_name="case_fields")
    op.create_index("ix_case_fields_lookup", "case_fields", ["name", "value", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_fields_lookup", table_name="case_fields")
    op.create_index("ix_case_fields_lookup", "case_fields", ["name", "value"])

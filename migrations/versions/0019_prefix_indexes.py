"""prefix indexes for jurisdiction scoping on PostgreSQL

Every scoped read filters by an area path prefix (``jurisdiction LIKE '/macheng/songbu/%'``). A
plain btree index answers LIKE only under the C collation; databases created with a language
collation (en_US.UTF-8, C.UTF-8) scanned the whole table instead (docs/scaling.md). The
``text_pattern_ops`` indexes make the prefix an index range. SQLite is left as it is: its LIKE
optimisation needs ``case_sensitive_like``, so there the filter stays a scan of an embedded
city's smaller tables.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 18:10:00
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# (index name, table, column): the paths the scoped reads filter by prefix.
PREFIX_INDEXES = (
    ("ix_cases_jurisdiction_prefix", "cases", "jurisdiction"),
    ("ix_case_tasks_jurisdiction_prefix", "case_tasks", "jurisdiction"),
    ("ix_census_people_grid_prefix", "census_people", "grid_path"),
    ("ix_census_items_grid_prefix", "census_items", "grid_path"),
    ("ix_census_visits_grid_prefix", "census_visits", "grid_path"),
    ("ix_org_units_path_prefix", "org_units", "path"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, column in PREFIX_INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} text_pattern_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in PREFIX_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")

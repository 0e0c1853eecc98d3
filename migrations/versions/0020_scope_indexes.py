"""scope indexes: the case-id sets of the jurisdiction scope, JIT off, case_fields statistics

Found on the inflated full-size city (issue #19, docs/performance.md "Full size"). The scope of
lists, counts and KPIs is a union of case-id sets (``api/core/scope.py``, ``many=True``): the cases
in the area, the cases with a task in it, offered to the caller's roles over it, or overdue. Each
set is read from an index that ends in ``case_id``, so it is an index-only scan:

* ``case_tasks (jurisdiction text_pattern_ops, case_id)``: tasks in an area (a path prefix);
* ``case_tasks (role, jurisdiction, case_id)``: tasks offered to a role at, above or within a unit;
* ``case_tasks (state, due_at, case_id)``: overdue ready tasks (the list's filter, the KPIs).

PostgreSQL's JIT compiles a query's expressions when its estimated cost is high; the KPI and
list queries are estimated high at this size and spent 100-300 ms compiling for a 20-100 ms
execution. It is turned off for the database (``ALTER DATABASE … SET jit = off``, new sessions)
when the migrating user owns it or is a superuser; otherwise a log line says to do it by hand.

``case_fields (name, value)``: the planner took name and value for independent and estimated
``name = 'category' AND value = '邻里'`` a hundred times too low; extended statistics (mcv,
dependencies) give it the pairs.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 07:00:00
"""
import logging

from alembic import op

from engine.db import analyze
from sqlalchemy import text


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# (name, columns on SQLite, columns on PostgreSQL)
TASK_INDEXES = (
    ("ix_case_tasks_jurisdiction_case", "jurisdiction, case_id", "jurisdiction text_pattern_ops, case_id"),
    ("ix_case_tasks_role_jurisdiction", "role, jurisdiction, case_id", "role, jurisdiction text_pattern_ops, case_id"),
    ("ix_case_tasks_state_due", "state, due_at, case_id", "state, due_at, case_id"),
)
STATISTICS = "st_case_fields_name_value"


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    for name, sqlite_columns, pg_columns in TASK_INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON case_tasks ({pg_columns if postgresql else sqlite_columns})")
    if not postgresql:
        return
    op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct, dependencies, mcv) ON name, value "
               "FROM case_fields")
    analyze(bind, "case_fields")
    may = bind.scalar(text("SELECT r.rolsuper OR d.datdba = r.oid FROM pg_database d, pg_roles r "
                           "WHERE d.datname = current_database() AND r.rolname = current_user"))
    if may:
        database = bind.scalar(text("SELECT quote_ident(current_database())"))
        op.execute(f"ALTER DATABASE {database} SET jit = off")
        op.execute("SET jit = off")
    else:
        log.warning("jit stays on: the migrating user does not own the database; run "
                    "ALTER DATABASE <name> SET jit = off as its owner (docs/performance.md)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
        if bind.scalar(text("SELECT r.rolsuper OR d.datdba = r.oid FROM pg_database d, pg_roles r "
                            "WHERE d.datname = current_database() AND r.rolname = current_user")):
            op.execute(f"ALTER DATABASE {bind.scalar(text('SELECT quote_ident(current_database())'))} RESET jit")
    for name, _, _ in reversed(TASK_INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

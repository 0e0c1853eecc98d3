"""cases: the small columns first on SQLite, jurisdiction index with created_at; case_fields by (case_id, name)

SQLite keeps a row's columns in order and moves what does not fit in the page to overflow pages.
A case's ``data`` (about 2 kB) and workflow ``state`` (about 20 kB) stood before ``created_at``,
``first_handler`` and the other timestamps, so reading any of those walked the row's overflow
chain, five or six pages a case: the city's KPIs for a year (every case's registration time and
area) took 3 s at 100,000 cases (issue #19, docs/performance.md). Here the table is rebuilt with
``incident``, ``data`` and ``state`` last. PostgreSQL stores large values apart (TOAST), so the
rebuild is SQLite's only. It copies the table once (5 s for 3,113 cases in a 209 MB file; about
30 times that, estimated, for the 6 GB of 100,000 cases); the old copy's pages stay in the file
for later rows (``VACUUM`` would hand them back to the disk).

``ix_cases_jurisdiction`` gains ``created_at``: a KPI query's walk of it tests the registration
window from the index alone (the scan of 3,113 cases 2.7 -> 0.7 ms).

``case_fields``' index on ``case_id`` becomes (case_id, name, value): a case's field of one name
(the KPIs' repeat-dispute flag asks each case for its parties' hashes) is one probe of it. With
only (case_id) beside the lookup index (name, value, case_id), SQLite, which keeps no statistics
here, read every ``party_hash`` row of the city once per case.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 01:00:00
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

SMALL_FIRST = ("id", "case_no", "process_key", "definition_id", "status", "version", "jurisdiction", "title",
               "event_seq", "chain_head", "created_by", "created_at", "updated_at", "completed_at", "first_handler",
               "incident", "data", "state")
BEFORE = ("id", "case_no", "process_key", "definition_id", "status", "version", "jurisdiction", "title", "data",
          "state", "incident", "event_seq", "chain_head", "created_by", "created_at", "updated_at", "completed_at",
          "first_handler")


def upgrade() -> None:
    op.drop_index("ix_case_fields_case_id", table_name="case_fields")
    op.create_index("ix_case_fields_case", "case_fields", ["case_id", "name", "value"])
    _order_cases(SMALL_FIRST)
    _jurisdiction_index(["jurisdiction", "created_at"])


def downgrade() -> None:
    _jurisdiction_index(["jurisdiction"])
    _order_cases(BEFORE)
    op.drop_index("ix_case_fields_case", table_name="case_fields")
    op.create_index("ix_case_fields_case_id", "case_fields", ["case_id"])


def _jurisdiction_index(columns: list[str]) -> None:
    """The KPIs sum per jurisdiction over a registration window; SQLite answers that by walking this
    index in order, and with ``created_at`` in it never reads a case row to test the window."""
    op.drop_index("ix_cases_jurisdiction", table_name="cases")
    op.create_index("ix_cases_jurisdiction", "cases", columns)


def _order_cases(order: tuple[str, ...]) -> None:
    """Rebuild ``cases`` with its columns in ``order`` (SQLite; migrations/env.py turns its foreign
    keys off for the copy and checks them after)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("cases", recreate="always", partial_reordering=[order]):
        pass

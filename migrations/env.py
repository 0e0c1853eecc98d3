"""Alembic environment: migrates the database named by the caller (or DATABASE_URL)."""
from alembic import context

import api.census.heads  # noqa: F401
import api.census.service  # noqa: F401
import api.core.models  # noqa: F401  (registers the people tables on the shared metadata)
import api.core.notify  # noqa: F401
import api.documents.models  # noqa: F401
import api.intake.service  # noqa: F401
import api.resident.models  # noqa: F401
from engine.db import default_url, make_engine
from engine.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or default_url())
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def _render_item(type_, obj, autogen_context):
    """Migrations spell column types in plain SQLAlchemy, never through our model classes."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _migrate(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(connection=connection, target_metadata=target_metadata, render_item=_render_item,
                      render_as_batch=sqlite)
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    _sqlite_foreign_keys(connection, "OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        _sqlite_foreign_keys(connection, "ON")
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.rollback()
    if broken:
        raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")


def _sqlite_foreign_keys(connection, state: str) -> None:
    """SQLite rebuilds a table (batch mode) by copying it, dropping it and renaming the copy; with
    foreign keys on, dropping ``cases`` fails for its tasks and events. The switch only works outside
    a transaction, so it goes to the driver's connection directly (SQLite's own procedure for
    changing a table: https://www.sqlite.org/lang_altertable.html#otheralter); the keys are checked
    after the migration."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={state}")


run_migrations()

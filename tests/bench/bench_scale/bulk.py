"""Bulk writes through the app's own tables: COPY on PostgreSQL, executemany on SQLite.

Rows get their ids here (so a person can point at its household before either is written); on
PostgreSQL the id sequence is moved past them afterwards, so the app's own inserts carry on."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Connection, Table, func, insert, select, text

BATCH = 20_000
HELD = 100_000  # rows a Batches holds per table before it writes: memory stays flat at any scale


def next_id(conn: Connection, table: Table) -> int:
    return (conn.scalar(select(func.max(table.c.id))) or 0) + 1


def write(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert ``rows`` (dicts with every column to set); returns how many."""
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, rows)
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


class Batches:
    """Rows for several tables, written as they come, ``HELD`` at a time. When one table's rows are
    due, every table's are written in the order the tables were first given (give a referenced table
    before the tables that point at it)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: Table, row: dict[str, Any]) -> None:
        rows = self.rows.setdefault(table, [])
        rows.append(row)
        if len(rows) >= HELD:
            self.flush()

    def flush(self) -> dict[str, int]:
        for table, rows in self.rows.items():
            self.counts[table.name] = self.counts.get(table.name, 0) + (write(self.conn, table, rows) if rows else 0)
            rows.clear()
        return self.counts


def _copy(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    raw = conn.connection.driver_connection  # psycopg 3
    count, columns, batch = 0, None, []

    def flush() -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row([_pg(row[c]) for c in columns])
        batch.clear()

    for row in rows:
        if columns is None:
            columns = [c for c in row if c in table.c]  # callers may keep their own keys on a row
        batch.append(row)
        count += 1
        if len(batch) >= BATCH * 5:
            flush()
    if batch:
        flush()
    if count and "id" in table.c:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                          f"(SELECT max(id) FROM {table.name}))"))
    return count


def _pg(value: Any) -> Any:
    """COPY's text form: JSON columns as JSON text; dates and times as psycopg writes them."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, date, str, int, float, bool)) or value is None:
        return value
    return str(value)

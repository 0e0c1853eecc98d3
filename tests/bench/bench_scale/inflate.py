"""``python -m tests.bench.bench_scale.inflate [--cases 100000]`` (PostgreSQL only)

Grows a city built with ``--scale 0.01`` to the full city's size *for query planning*: the
organisation to 20 towns / 500 villages / 3,000 grids (the generator's own code), then copies of
every case with its tasks, fields, events, outbox messages, attachments and intake responses,
by SQL: new ids, case numbers with a ``-k`` suffix, every date shifted back by up to a month, and
each copy moved to another grid of the city (its tasks' units moved with it: the grid, its village,
its town and the town's departments).

The copies are NOT verifiable cases (their hash chains and workflow states belong to the
originals; ``audit verify`` fails on them): they only give the read paths the full city's row
counts and distributions, which an engine build takes an hour to make (issue #19,
docs/performance.md "Full size"). Use a bench database only; ``explain.py`` then measures.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from api.core.config import Settings

from . import org
from .sizes import Sizes

# Tables copied with their cases: (table, column pointing at the case, id column or None, timestamp
# columns to shift, columns holding a unit path). The case row itself comes first.
COPIED = (
    ("cases", "id", "id", ("created_at", "updated_at", "completed_at"), ("jurisdiction",)),
    ("case_tasks", "case_id", "uuid", ("created_at", "closed_at", "due_at"), ("jurisdiction",)),
    ("case_fields", "case_id", "id", (), ()),
    ("case_events", "case_id", "id", ("at",), ()),
    ("message_outbox", "sender_case_id", "id", ("created_at", "settled_at"), ()),
    ("attachments", "case_id", "id", ("uploaded_at",), ()),
    ("intake_responses", "case_id", "id", (), ()),
    ("case_facts", "case_id", "none", (), ()),  # a city built after migration 0021: the KPIs read it
    # after 0022: the scope reads it; its unit paths move with the tasks' (role@unit watcher keys and
    # usernames do not start with a path, and stay, as the copied fields and assignees do)
    ("case_reach", "case_id", "none", (), ("key",)),
)


def log(message: str) -> None:
    print(f"[inflate {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000, help="cases wanted in all, originals included")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    name = url.rsplit("/", 1)[-1]
    if not url.startswith("postgresql") or "bench" not in name:
        raise SystemExit("inflate writes unverifiable copies: DATABASE_URL must be a PostgreSQL database named *bench*")
    engine = create_engine("postgresql+psycopg://" + url.removeprefix("postgresql://").removeprefix("postgresql+psycopg://"))
    settings = Settings(database_url=url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        # Staff for every new unit, no extra grid workers (their names would repeat the small city's).
        city = org.build(conn, replace(Sizes.of(1.0), users=0), settings.demo_password, datetime.now(timezone.utc))
        log(f"organisation: {len(city.towns)} towns, {len(city.villages)} villages, {len(city.grids)} grids")
    with engine.begin() as conn:
        originals = conn.scalar(text("SELECT count(*) FROM cases"))
        copies = max(0, -(-args.cases // originals) - 1)
        log(f"{originals} cases: {copies} copies each")
        _mapping(conn, copies)
        for table, case_column, id_kind, stamps, paths in COPIED:
            t = time.perf_counter()
            n = _copy(conn, table, case_column, id_kind, stamps, paths)
            log(f"{table}: {n} rows ({time.perf_counter() - t:.0f} s)")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t, *_ in COPIED}
        size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    engine.dispose()
    log(f"done in {time.perf_counter() - t0:.0f} s: {counts}, {size}")


def _mapping(conn, copies: int) -> None:
    """``inflate_map``: per original case and copy k, the new id, the date shift and the grid,
    village and town it moves to (a grid drawn by a hash of id and k, so the copies cover the city)."""
    conn.execute(text("""
        CREATE TEMP TABLE inflate_grids AS
        SELECT row_number() OVER (ORDER BY g.id) - 1 AS n, g.path AS grid, v.path AS village, t.path AS town,
               t.code AS town_code
        FROM org_units g JOIN org_units v ON v.id = g.parent_id JOIN org_units t ON t.id = v.parent_id
        WHERE g.kind = 'grid' AND v.kind = 'village' AND t.kind = 'town'"""))
    conn.execute(text("""
        CREATE TEMP TABLE inflate_src AS
        SELECT c.id,
          (SELECT u.path FROM org_units u WHERE u.kind = 'grid' AND c.jurisdiction LIKE u.path || '%' LIMIT 1) AS grid,
          (SELECT u.path FROM org_units u WHERE u.kind = 'village' AND c.jurisdiction LIKE u.path || '%' LIMIT 1) AS village,
          (SELECT u.path FROM org_units u WHERE u.kind = 'town' AND c.jurisdiction LIKE u.path || '%' LIMIT 1) AS town,
          (SELECT u.code FROM org_units u WHERE u.kind = 'town' AND c.jurisdiction LIKE u.path || '%' LIMIT 1) AS town_code
        FROM cases c"""))
    stride = conn.scalar(text("SELECT max(id) + 1 FROM cases"))
    grids = conn.scalar(text("SELECT count(*) FROM inflate_grids"))
    conn.execute(text("""
        CREATE TEMP TABLE inflate_map AS
        SELECT s.*, k.k, s.id + k.k * :stride AS new_id,
               make_interval(days => ((s.id * 7 + k.k * 13) % 30)::int, hours => ((s.id + k.k) % 5)::int) AS shift,
               g.grid AS new_grid, g.village AS new_village, g.town AS new_town, g.town_code AS new_town_code
        FROM inflate_src s CROSS JOIN generate_series(1, :copies) AS k(k)
        JOIN inflate_grids g ON g.n = (s.id * 7919 + k.k * 104729) % :grids"""),
                 {"stride": stride, "copies": copies, "grids": grids})
    conn.execute(text("CREATE INDEX ON inflate_map (id)"))
    conn.execute(text("ANALYZE inflate_map"))


def _moved(column: str) -> str:
    """A unit path of the original case moved to the copy's grid, village or town (a town's
    department keeps its place under the new town: /c/t1/t1-sifasuo/ -> /c/t7/t7-sifasuo/)."""
    return f"""CASE
        WHEN m.grid IS NOT NULL AND {column} LIKE m.grid || '%' THEN m.new_grid || substr({column}, length(m.grid) + 1)
        WHEN m.village IS NOT NULL AND {column} LIKE m.village || '%'
          THEN m.new_village || substr({column}, length(m.village) + 1)
        WHEN m.town IS NOT NULL AND {column} LIKE m.town || '%'
          THEN m.new_town || replace(substr({column}, length(m.town) + 1), m.town_code || '-', m.new_town_code || '-')
        ELSE {column} END"""


def _copy(conn, table: str, case_column: str, id_kind: str, stamps: tuple, paths: tuple) -> int:
    columns = list(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                                     "AND table_schema = 'public' ORDER BY ordinal_position"), {"t": table}).scalars())
    if not columns or not conn.scalar(text(f"SELECT count(*) FROM {table}")):
        return 0
    stride = conn.scalar(text(f"SELECT max(id) + 1 FROM {table}")) if id_kind == "id" else 0
    values = {column: f"o.{column}" for column in columns}
    values["id"] = "m.new_id" if table == "cases" else (f"o.id + m.k * {stride}" if id_kind == "id"
                                                        else "md5(o.id || '-' || m.k)")
    if table != "cases":
        values[case_column] = "m.new_id"
    else:
        values["case_no"] = "o.case_no || '-' || m.k"
    if table == "case_fields":  # each copy's parties are other people (or every copy is a 反复纠纷)
        values["value"] = "CASE WHEN o.name = 'party_hash' THEN md5(o.value || '-' || m.k) ELSE o.value END"
    for column in stamps:
        values[column] = f"o.{column} - m.shift"
    for column in paths:
        values[column] = _moved(f"o.{column}")
    result = conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values[c] for c in columns)} "
                               f"FROM {table} o JOIN inflate_map m ON m.id = o.{case_column}"))
    if id_kind == "id":
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    return result.rowcount


if __name__ == "__main__":
    main()

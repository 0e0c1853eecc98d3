"""``cunliao backup`` and ``cunliao restore``: one tar file holding a consistent copy of the database
and the attachment files, checked before it is trusted.

* SQLite is copied with SQLite's online backup API (a plain ``cp`` of a database being written is
  corrupt); PostgreSQL with ``pg_dump -Fc`` (one snapshot). Both are consistent while the service
  writes.
* The attachment files (evidence, issued documents; named by their sha256, never changed) are
  copied *after* the database snapshot: a file is stored before the row that names it commits, so
  every file the copy names is there.
* The copy is verified before the archive is written, the restored database before it is used:
  every case's hash chain and state seal (``audit_sweep``; replay for a case without a seal), every
  sealed document's bytes, every attachment's file. PostgreSQL's copy is verified in a scratch
  database restored from the dump (``<name>_verify_<pid>``, dropped afterwards).

Archive: ``manifest.json``, ``database.sqlite`` or ``database.pgdump``, ``attachments/…``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, distinct, select, text
from sqlalchemy.engine import URL, make_url

from api.core.config import Settings
from api.core.services import build_services
from engine.files import FileStore
from engine.models import Attachment

from .audit_sweep import Plan, verify_all

FORMAT = "cunliao-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE, PGDUMP_FILE, FILES_DIR = "database.sqlite", "database.pgdump", "attachments"


class BackupError(Exception):
    """Something an operator must act on; the message says what."""


@dataclass
class Verification:
    cases: int = 0
    events: int = 0
    attachments: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Outcome:
    path: Path
    bytes: int
    verification: Verification | None


def backup(settings: Settings, out: Path, verify: bool = True) -> Outcome:
    out = out.resolve()
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cunliao-backup-") as work:
        work_dir = Path(work)
        dialect = _dialect(settings.database_url)
        database_file = work_dir / (SQLITE_FILE if dialect == "sqlite" else PGDUMP_FILE)
        if dialect == "sqlite":
            _sqlite_copy(_sqlite_path(settings.database_url), database_file)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={database_file}"], settings.database_url)
        files = _copy_files(settings.attachments_dir, work_dir / FILES_DIR)
        verification = None
        if verify:
            with _database_of(database_file, dialect, settings.database_url) as url:
                verification = verify_database(replace(settings, database_url=url), work_dir / FILES_DIR)
            if not verification.ok:
                raise BackupError("the copy does not verify; no backup written:\n" + "\n".join(verification.failures))
        manifest = {"format": FORMAT, "dialect": dialect, "database": database_file.name, "attachments": files,
                    "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "cases": verification.cases if verification else None}
        (work_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            for name in (MANIFEST, database_file.name, FILES_DIR):
                archive.add(work_dir / name, arcname=name)
        partial.replace(out)
    return Outcome(out, out.stat().st_size, verification)


def restore(settings: Settings, archive_path: Path, force: bool = False) -> Verification:
    dialect = _dialect(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="cunliao-restore-") as work:
        work_dir = Path(work)
        with tarfile.open(archive_path) as archive:
            archive.extractall(work_dir, filter="data")
        manifest = _manifest(work_dir)
        if manifest["dialect"] != dialect:
            raise BackupError(f"this backup is of a {manifest['dialect']} database; DATABASE_URL names {dialect}")
        database_file = work_dir / manifest["database"]
        _copy_files(work_dir / FILES_DIR, settings.attachments_dir)
        if dialect == "sqlite":
            return _restore_sqlite(settings, database_file, force)
        _restore_postgres(settings.database_url, database_file, force)
        return verify_database(settings, settings.attachments_dir)


def verify_database(settings: Settings, attachments_dir: Path,
                    progress: Callable[[int], None] | None = None) -> Verification:
    """Every case (chain, state seal, sealed documents; replay of the cases without a seal:
    ``audit_sweep``) and every attachment's file."""
    swept = verify_all(settings, Plan(files=attachments_dir), progress=progress)
    result = Verification(cases=swept.cases, events=swept.events)
    result.failures += [f"case {v.case_no}: event {v.first_bad_event}: {v.reason}" for v in swept.failures]
    svc = build_services(settings)
    files = FileStore(attachments_dir)
    try:
        with svc.db.read() as session:
            for digest in session.scalars(select(distinct(Attachment.sha256))):
                result.attachments += 1
                if files.read(digest) is None:
                    result.failures.append(f"attachment file {digest} is missing or changed")
    finally:
        svc.db.dispose()
    return result


# -- SQLite --------------------------------------------------------------------------------------

def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # one step: a consistent snapshot; in WAL mode the writers go on meanwhile
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _restore_sqlite(settings: Settings, database_file: Path, force: bool) -> Verification:
    target = _sqlite_path(settings.database_url)
    if target.exists() and not force:
        raise BackupError(f"{target} exists; stop the service and pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(database_file, staged)
    verification = verify_database(replace(settings, database_url=f"sqlite:///{staged}"), settings.attachments_dir)
    if not verification.ok:
        staged.unlink()
        return verification
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    staged.replace(target)
    return verification


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[-1]).resolve()


# -- PostgreSQL ----------------------------------------------------------------------------------

def _restore_postgres(url: str, dump: Path, force: bool) -> None:
    engine = create_engine(_sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            tables = conn.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
            if tables and not force:
                raise BackupError("the database is not empty; stop the service and pass --force to replace it")
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    finally:
        engine.dispose()
    _run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", str(dump)], url)


@contextmanager
def _database_of(database_file: Path, dialect: str, live_url: str) -> Iterator[str]:
    """A URL under which the copy can be opened: the SQLite file itself, or a scratch PostgreSQL
    database restored from the dump and dropped afterwards."""
    if dialect == "sqlite":
        yield f"sqlite:///{database_file}"
        return
    live = make_url(_sqlalchemy_url(live_url))
    scratch = f"{live.database}_verify_{os.getpid()}"
    admin = create_engine(live.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        scratch_url = live.set(database=scratch).render_as_string(hide_password=False)
        _run(["pg_restore", "--no-owner", "--exit-on-error", str(database_file)], scratch_url)
        yield scratch_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def _run(argv: list[str], url: str) -> None:
    """pg_dump/pg_restore on the database of ``url``; the password goes in the environment, not argv."""
    parts: URL = make_url(_sqlalchemy_url(url))
    env = {**os.environ, "PGDATABASE": parts.database or "", "PGHOST": parts.host or "",
           "PGPORT": str(parts.port or 5432), "PGUSER": parts.username or ""}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    if argv[0] == "pg_restore":
        argv = [*argv[:-1], f"--dbname={parts.database}", argv[-1]]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{argv[0]} is not installed (Debian: apt-get install postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


# -- both ----------------------------------------------------------------------------------------

def _dialect(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"backups know SQLite and PostgreSQL, not {url.split(':', 1)[0]}")


def _copy_files(source: Path, target: Path) -> int:
    """Copy the content-addressed files (``aa/aabbcc…``) that ``target`` lacks; returns how many were
    sound. A file whose bytes no longer match its name is not copied (verification then names it),
    nor is a half-written one (``.part``)."""
    count = 0
    target.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        return 0
    for path in source.glob("*/*"):
        if path.suffix == ".part" or not path.is_file():
            continue
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != path.name:
            continue
        count += 1
        destination = target / path.parent.name / path.name
        if not destination.exists():
            destination.parent.mkdir(exist_ok=True)
            destination.write_bytes(content)
    return count


def _manifest(work_dir: Path) -> dict:
    try:
        manifest = json.loads((work_dir / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raise BackupError("not a cunliao backup (no manifest.json)") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    return manifest

"""The ``cunliao`` command: init-db, deploy, seed-demo, worker, serve."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import click
from alembic import command
from alembic.config import Config

from api.core.config import ROOT, Settings
from api.core.limits import limit_memory
from api.core.services import build_services
from engine.definitions import SourceFile
from engine.errors import DefinitionInvalid
from engine.files import FileStore
from engine.worker import TimerWorker

SOURCE_SUFFIXES = (".bpmn", ".dmn", ".schema.json", ".typ", ".document.json")


@click.group()
def main() -> None:
    """Cunliao (村了): grassroots dispute resolution on BPMN."""
    from api.core import logs

    logs.configure(os.environ.get("LOG_FORMAT", "json"))


def alembic_config(url: str) -> Config:
    """Alembic's configuration for our migrations on the database at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema and load the role catalogue."""
    from api.people.seed import sync_reference_data

    settings = Settings()
    migrate(settings.database_url)
    svc = build_services(settings)
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, settings.workflows_dir)
    click.echo(f"database ready: {_safe_url(settings.database_url)}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--by", default="system", help="who deploys (recorded with each new version)")
def deploy(paths: tuple[Path, ...], by: str) -> None:
    """Deploy BPMN, DMN, form and document template files (or directories of them); unchanged files make
    no new version."""
    files = [SourceFile(str(p.relative_to(base)) if base != p else p.name, p.read_bytes())
             for base, p in _sources(paths)]
    svc = build_services(Settings())
    try:
        with svc.db.write() as session, session.begin():
            deployed = svc.registry.deploy(session, files, by, svc.clock.now())
    except DefinitionInvalid as exc:
        for issue in exc.issues:
            where = ":".join(str(x) for x in (issue.file, issue.line) if x)
            click.echo(f"{where}: {issue.element_id or '-'}: {issue.message}", err=True)
        raise click.ClickException(exc.message) from None
    for item in deployed:
        click.echo(f"{item.key} v{item.version} {'deployed' if item.created else 'unchanged'}")


def _sources(paths: tuple[Path, ...]):
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.name.endswith(SOURCE_SUFFIXES):
                    yield path, file
        else:
            yield path.parent, path


@main.command("seed-demo")
@click.option("--month", is_flag=True, help="also a month of demo work (census, prevention, cases; demo mode only)")
@click.option("--seed", default=17, show_default=True, help="the demo month's random seed")
def seed_demo_command(month: bool, seed: int) -> None:
    """Create the demo organisation and users on the first run (passwords: DEMO_PASSWORD)."""
    from api.people.seed import seed_demo, sync_reference_data

    settings = Settings()
    svc = build_services(settings)
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, settings.workflows_dir)
        created = seed_demo(session, settings.demo_password, svc.clock.now(), demo_mode=settings.demo_mode)
    svc.db.dispose()
    click.echo("demo organisation and users created" if created else "demo data already present")
    if month and not settings.demo_mode:
        click.echo("no demo month outside demo mode (DEMO_MODE=0)")
    elif month:
        from cunliao.demo.month import seed_month

        counts = seed_month(settings, seed)
        click.echo("demo month already present (the database holds cases)" if counts is None else
                   f"demo month seeded (seed {seed}): {sum(counts.values())} cases; "
                   + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))


@main.command("import-org")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="only check the files; write nothing")
@click.option("--by", default="system", help="who imports (recorded in the admin audit)")
def import_org(files: tuple[Path, ...], dry_run: bool, by: str) -> None:
    """Import units and users from .csv/.xlsx files (columns: docs/api.md), all or nothing."""
    from api.core.tabular import ImportInvalid
    from api.people.importer import run

    svc = build_services(Settings())
    try:
        result = run(svc, [(f.name, f.read_bytes()) for f in files], actor=by, scope_path="/", dry_run=dry_run)
    except ImportInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{exc.message} / {exc.detail}") from None
    finally:
        svc.db.dispose()
    counts = ", ".join(f"{what}: {c['created']} new, {c['updated']} changed, {c['unchanged']} unchanged"
                       for what, c in (("units", result.units.as_dict()), ("users", result.users.as_dict())))
    click.echo(("dry run, nothing written; " if dry_run else "imported; ") + counts)
    for entry in result.passwords:
        click.echo(f"temporary password for {entry['username']}: {entry['temporary_password']}")


@main.command("import-census")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="only check and count; write nothing")
@click.option("--by", default="system", help="who imports (recorded in the census history)")
def import_census(file: Path, dry_run: bool, by: str) -> None:
    """Import the census (people, houses, land, events, things, organisations) from a .csv/.xlsx file
    (one sheet per kind, columns: docs/census.md), all or nothing."""
    from api.census.importer import run
    from api.core.tabular import ImportInvalid

    svc = build_services(Settings())
    bar = None
    shown = 0

    def progress(done: int, total: int) -> None:  # called after each batch of rows
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(length=total, label="导入/importing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        result = run(svc, [(file.name, file.read_bytes())], actor=by, scope_path="/", dry_run=dry_run,
                     progress=progress)
    except ImportInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{exc.message} / {exc.detail}") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        svc.db.dispose()
    people = result.people
    items = "".join(f"; {kind} {c['created']} new, {c['updated']} changed, {c['unchanged']} unchanged"
                    for kind, c in result.items.items() if any(c.values()))
    click.echo(("dry run, nothing written; " if dry_run else "imported; ")
               + f"{result.rows} rows: people {people['created']} new, {people['updated']} changed, "
               f"{people['unchanged']} unchanged; households {result.households_created} new{items}")


class _IntakeKeyCommands(click.Group):
    """``intake-key CHANNEL`` (the first usage) still creates a key: it means ``intake-key create CHANNEL``."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().resolve_command(ctx, args)


@main.group("intake-key", cls=_IntakeKeyCommands)
def intake_key() -> None:
    """API keys of the intake channels: create, list, revoke (docs/intake.md)."""


@intake_key.command("create")
@click.argument("channel")
@click.option("--label", default="", help="whose system the key is for (kept with the key's hash)")
def intake_key_create(channel: str, label: str) -> None:
    """Create an API key for an intake channel and print it once (only its sha256 is stored)."""
    from api.intake.service import new_key
    from api.intake.schemas import CHANNELS

    if channel not in CHANNELS:
        raise click.BadParameter(f"one of {', '.join(CHANNELS)}", param_hint="CHANNEL")
    svc = build_services(Settings())
    try:
        key = new_key(svc.db, channel, label, svc.clock.now())
    finally:
        svc.db.dispose()
    click.echo(key)


@intake_key.command("list")
def intake_key_list() -> None:
    """List the keys (id, channel, created, revoked, label); the keys themselves are never stored."""
    from api.intake.service import list_keys

    svc = build_services(Settings())
    try:
        keys = list_keys(svc.db)
    finally:
        svc.db.dispose()
    if not keys:
        click.echo("no intake keys")
    for key in keys:
        revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.channel}\t{key.created_at.isoformat(timespec='seconds')}\t{revoked}\t{key.label}")


@intake_key.command("revoke")
@click.argument("key_id", metavar="ID", type=int)
def intake_key_revoke(key_id: int) -> None:
    """Revoke a key by its id (from ``intake-key list``): pushes with it answer 401 from then on."""
    from api.intake.service import revoke_key

    svc = build_services(Settings())
    try:
        key = revoke_key(svc.db, key_id, svc.clock.now())
    finally:
        svc.db.dispose()
    if key is None:
        raise click.ClickException(f"no intake key with id {key_id} (see: cunliao intake-key list)")
    click.echo(f"revoked key {key.id} of {key.channel} ({key.label or 'no label'}) "
               f"at {key.revoked_at.isoformat(timespec='seconds')}")


@main.command()
@click.option("--poll", type=float, default=None, help="seconds between rounds when nothing is due")
def worker(poll: float | None) -> None:
    """Fire due timers until stopped (several may run at once)."""
    settings = Settings()
    limit_memory(settings.process_memory_mb)
    svc = build_services(settings)
    from api.worker import worker_jobs

    timer_worker = TimerWorker(svc.cases, poll_seconds=poll or settings.worker_poll_seconds, jobs=worker_jobs(svc))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: timer_worker.stop.set())
    timer_worker.run()


@main.command()
def serve() -> None:
    """Serve the app with gunicorn on HOST:PORT, together with the timer worker; either is restarted
    when it dies, both stop with this process (SIGTERM drains them)."""
    from engine.db import Database
    from engine.timers import release_worker_claims
    from engine.worker import default_worker_id

    from .supervise import Child, Supervisor

    settings = Settings()
    metrics_dir = _metrics_dir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}

    def release_dead_workers_claims(pid: int) -> None:
        db = Database(settings.database_url)
        try:
            released = release_worker_claims(db, default_worker_id(pid))
        finally:
            db.dispose()
        if released:
            logging.getLogger("cunliao.serve").info("gave back %d timer claim(s) of the dead worker", released)

    children = [
        Child("timer worker", [sys.executable, "-m", "cunliao.cli", "worker"], on_death=release_dead_workers_claims),
        Child("web (gunicorn)", [sys.executable, "-m", "gunicorn", "-c", "python:cunliao.gunicorn_conf",
                                 "--workers", str(settings.web_workers), "--bind", f"{settings.host}:{settings.port}",
                                 "cunliao.wsgi:app"]),
    ]
    click.echo(f"serving on http://{settings.host}:{settings.port} (Ctrl-C stops)")
    try:
        Supervisor(children, cwd=str(ROOT), env=env).run()
    finally:
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir() -> str:
    """Where gunicorn's workers and the timer worker share their metrics (prometheus-client's
    multiprocess mode); emptied at each start, as the library asks."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / f"cunliao-metrics-{os.getpid()}"
    if path.exists() and not configured:
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return str(path)


@main.command("backup")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the archive to write (.tar)")
@click.option("--no-verify", is_flag=True, help="skip verifying the copy (not recommended)")
def backup_command(out: Path, no_verify: bool) -> None:
    """Back up the database and the attachment files into one archive while the service runs; the
    copy's audit chains are verified before the archive is written (docs/operations.md)."""
    from .backup import BackupError, backup

    started = time.monotonic()
    try:
        outcome = backup(Settings(), out, verify=not no_verify)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    checked = outcome.verification
    verified = (f"{checked.cases} cases ({checked.events} events) and {checked.attachments} attachments verified"
                if checked else "not verified")
    click.echo(f"{outcome.path}: {outcome.bytes / 1e6:.1f} MB in {time.monotonic() - started:.1f} s; {verified}")


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace an existing database (stop the service first)")
def restore_command(archive: Path, force: bool) -> None:
    """Restore a backup into DATABASE_URL and ATTACHMENTS_DIR, then verify every case's audit chain and
    every attachment; exit status 1 if anything fails to verify."""
    from .backup import BackupError, restore

    try:
        checked = restore(Settings(), archive, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for failure in checked.failures:
        click.echo(f"FAIL {failure}", err=True)
    if not checked.ok:
        click.echo(f"the restored data does not verify: {len(checked.failures)} problem(s) above "
                   "(SQLite: the database was left as it was)", err=True)
        sys.exit(1)
    click.echo(f"restored and verified: {checked.cases} cases ({checked.events} events), "
               f"{checked.attachments} attachments")


@main.group()
def audit() -> None:
    """Verify case histories, export bundles and anchors."""


@audit.command("verify")
@click.argument("case_nos", nargs=-1)
@click.option("--all", "all_cases", is_flag=True,
              help="every case: hash chains, state seals and stored documents (replaying the cases without a seal)")
@click.option("--replay", "replay_all", is_flag=True, help="with --all: replay every case as well (slow)")
@click.option("--replay-sample", type=click.FloatRange(0, 100), default=0.0, metavar="PERCENT",
              help="with --all: also replay this share of the sealed cases, chosen at random")
@click.option("--seed", type=int, default=None, help="the random choice of --replay-sample (default: a new one)")
@click.option("--workers", type=click.IntRange(1), default=None, help="with --all: processes (default: one per CPU)")
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="verify an exported audit bundle offline (no database)")
@click.option("--anchor", "anchor_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="also check that every case of this anchor file still exists with its history")
def audit_verify(case_nos: tuple[str, ...], all_cases: bool, replay_all: bool, replay_sample: float,
                 seed: int | None, workers: int | None, bundle: Path | None, anchor_file: Path | None) -> None:
    """Check hash chains and state seals, replay cases and check the stored documents; exit status 1 on
    any failure. Named cases are always replayed; --all replays those without a seal (docs/audit.md)."""
    from engine.verify import iter_cases, verify_anchor, verify_bundle, verify_in_db

    if bundle is not None:
        verdict = verify_bundle(json.loads(bundle.read_text(encoding="utf-8")))
        _report_verdicts([verdict])
        return
    if not case_nos and not all_cases and anchor_file is None:
        raise click.UsageError("name case numbers, or give --all, --bundle or --anchor")
    if (replay_all or replay_sample or workers) and not all_cases:
        raise click.UsageError("--replay, --replay-sample and --workers go with --all "
                               "(named cases are always replayed)")
    settings = Settings()
    files = FileStore(settings.attachments_dir)  # documents: the stored PDF still has its sealed sha256
    verdicts, problems, swept = [], [], None
    if all_cases:
        swept = _verify_every_case(settings, replay_all, replay_sample, seed, workers)
    svc = build_services(settings)
    with svc.db.read() as session:
        if case_nos and not all_cases:
            for case in iter_cases(session, case_nos):
                verdicts.append(verify_in_db(session, svc.registry, svc.cases.script_engine, case, files))
            missing = set(case_nos) - {v.case_no for v in verdicts}
            problems += [f"case {no} does not exist" for no in sorted(missing)]
        if anchor_file is not None:
            problems += verify_anchor(session, json.loads(anchor_file.read_text(encoding="utf-8")))
    svc.db.dispose()
    if swept is not None:
        _report_sweep(swept, problems)
    else:
        _report_verdicts(verdicts, problems)


def _verify_every_case(settings: Settings, replay_all: bool, replay_sample: float, seed: int | None,
                       workers: int | None):
    from sqlalchemy import func, select

    from engine.models import Case

    from .audit_sweep import Plan, verify_all

    svc = build_services(settings)
    with svc.db.read() as session:
        total = session.scalar(select(func.count()).select_from(Case))
    svc.db.dispose()
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
    plan = Plan(replay="all" if replay_all else "unsealed", sample=replay_sample / 100, seed=seed,
                files=settings.attachments_dir)
    with click.progressbar(length=total, label="verifying", file=sys.stderr, show_pos=True) as bar:
        shown = 0

        def progress(done: int) -> None:
            nonlocal shown
            bar.update(done - shown)
            shown = done
        swept = verify_all(settings, plan, workers, progress)
    if replay_sample:
        click.echo(f"replay sample: {replay_sample:g}% of the sealed cases, seed {seed}")
    return swept


def _report_sweep(swept, problems) -> None:
    replayed = ", ".join(f"{count} {why}" for why, count in sorted(swept.replayed.items())) or "none"
    rate = swept.events / swept.seconds if swept.seconds else 0
    click.echo(f"chains and seals: {swept.sealed} sealed cases; replayed: {replayed} "
               f"({swept.replayed_events} events in {swept.replay_seconds:.1f} s of worker time); "
               f"{swept.events} events in {swept.seconds:.1f} s, {rate:,.0f} events/s")
    _report(swept.failures, swept.cases, swept.events, problems)


def _report_verdicts(verdicts, problems=()) -> None:
    _report([v for v in verdicts if not v.ok], len(verdicts), sum(v.events for v in verdicts), problems)


def _report(failures, cases: int, events: int, problems=()) -> None:
    for verdict in failures:
        click.echo(f"FAIL {verdict.case_no}: event {verdict.first_bad_event}: {verdict.reason}", err=True)
        for name, change in verdict.diff.items():
            click.echo(f"    {name}: {json.dumps(change, ensure_ascii=False, default=str)[:500]}", err=True)
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    click.echo(f"{cases - len(failures)} of {cases} cases verified ({events} events)"
               + (f"; {len(problems)} anchor problem(s)" if problems else ""))
    if failures or problems:
        sys.exit(1)


@audit.command("export")
@click.argument("case_no")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def audit_export(case_no: str, out: Path) -> None:
    """Write a case's audit bundle (events, definitions, chain head) to a file."""
    from engine.verify import export_bundle, iter_cases

    svc = build_services(Settings())
    with svc.db.read() as session:
        case = next(iter_cases(session, [case_no]), None)
        if case is None:
            raise click.ClickException(f"case {case_no} does not exist")
        content = export_bundle(session, svc.registry, case, svc.clock.now())
    out.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{case_no}: {len(content['events'])} events written to {out}")


@audit.command("anchor")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def audit_anchor(out: Path) -> None:
    """Write the heads of all cases and their hash: keep it (daily) to detect deleted cases."""
    from engine.verify import anchor

    svc = build_services(Settings())
    with svc.db.read() as session:
        content = anchor(session, svc.clock.now())
    out.write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"anchor of {len(content['cases'])} cases: {content['root']}")


@main.group()
def stats() -> None:
    """Statistics reports."""


@stats.command("reconcile")
@click.option("--period", required=True, help="YYYY or YYYY-MM (registration, China time)")
@click.option("--area", default=None, help="a unit code or path (default: the whole organisation)")
def stats_reconcile(period: str, area: str | None) -> None:
    """Account for every dispute registered in the period; exit status 1 if the parts do not add up."""
    import re

    from api.core.auth import Principal
    from api.core.problems import ApiProblem
    from api.stats import reconcile, service
    from api.stats.schemas import PERIOD

    if not re.match(PERIOD, period):
        raise click.BadParameter("YYYY or YYYY-MM (2000 or later)", param_hint="--period")
    svc = build_services(Settings())
    everyone = Principal(id=0, username="system", display_name="统计对账", roles=frozenset({"admin"}),
                         unit_path="/", unit_name="全部")
    with svc.db.read() as session:
        try:
            path = service.area_path(session, everyone, area)
        except ApiProblem as exc:  # an unknown area
            raise click.BadParameter(f"unknown unit {area!r}", param_hint="--area") from exc
        report = reconcile.reconcile(session, everyone, service.period_filters(period, path), svc.clock.now())
    click.echo(f"对账 {period}{' ' + path if path else ''}")
    for part in report["parts"]:
        click.echo(f"  {part['label']:<12}\t{part['count']:>8}{'  (计入排查数)' if part['counted'] else ''}")
    click.echo(f"  {'登记总数':<12}\t{report['total']:>8}")
    click.echo(f"  {'排查数':<12}\t{report['screened']:>8}")
    for row in report["duplicates"]:
        click.echo(f"  重复: {row['case_no']} {row['label']} → {row['of'] or '—'}")
    click.echo("平衡：各部分之和等于登记总数" if report["balanced"] else "不平衡：各部分之和与登记总数不符")
    if not report["balanced"]:
        sys.exit(1)


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()

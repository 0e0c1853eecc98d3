"""The ``cunliao`` command: init-db, deploy, seed-demo, worker, serve."""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from alembic import command
from alembic.config import Config

from engine.definitions import SourceFile
from engine.errors import DefinitionInvalid
from engine.worker import TimerWorker

from .config import ROOT, Settings
from .services import build_services

SOURCE_SUFFIXES = (".bpmn", ".dmn", ".schema.json")


@click.group()
def main() -> None:
    """Cunliao (村了): grassroots dispute resolution on BPMN."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every task state change at INFO


def migrate(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema and load the role catalogue."""
    from .seed import sync_reference_data

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
    """Deploy BPMN, DMN and form files (or directories of them); unchanged files make no new version."""
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
def seed_demo_command() -> None:
    """Create the demo organisation and users on the first run (passwords: DEMO_PASSWORD)."""
    from .seed import seed_demo, sync_reference_data

    settings = Settings()
    svc = build_services(settings)
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, settings.workflows_dir)
        created = seed_demo(session, settings.demo_password, svc.clock.now())
    click.echo("demo organisation and users created" if created else "demo data already present")


@main.command()
@click.option("--poll", type=float, default=None, help="seconds between rounds when nothing is due")
def worker(poll: float | None) -> None:
    """Fire due timers until stopped (several may run at once)."""
    settings = Settings()
    svc = build_services(settings)
    timer_worker = TimerWorker(svc.cases, poll_seconds=poll or settings.worker_poll_seconds)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: timer_worker.stop.set())
    timer_worker.run()


@main.command()
def serve() -> None:
    """Serve the app with gunicorn on HOST:PORT, together with the timer worker."""
    settings = Settings()
    children = [
        subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT),
        subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(settings.web_workers),
                          "--bind", f"{settings.host}:{settings.port}", "--access-logfile", "-",
                          "--graceful-timeout", "10", "api.wsgi:app"], cwd=ROOT),
    ]
    click.echo(f"serving on http://{settings.host}:{settings.port} (Ctrl-C stops)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if not stopping:
        raise click.ClickException("a server process stopped unexpectedly; see the log above")


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()

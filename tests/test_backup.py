"""`cunliao backup` while cases are being written, then `cunliao restore` into an empty place: the
restored database and files verify (audit chains, replay, attachments)."""
from __future__ import annotations

import io
import tarfile
import threading
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from cunliao.backup import BackupError, backup, restore, verify_database
from engine.models import Attachment, Case

from .conftest import PG_URL, deploy


def _write_cases(client, login, stop: threading.Event, written: list[str], rounds_before_stop: int = 3) -> None:
    grid = login("grid")
    n = 0
    while not stop.is_set() or n < rounds_before_stop:
        n += 1
        case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
        upload = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=grid,
                             content_type="multipart/form-data",
                             data={"file": (io.BytesIO(b"%PDF-1.4 evidence " + str(n).encode()), f"e{n}.pdf")})
        assert upload.status_code == 201, upload.get_json()
        done = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid,
                           json={"data": {"summary": "邻里纠纷", "amount": 100 + n}})
        assert done.status_code == 200, done.get_json()
        written.append(case["case_no"])


@pytest.fixture
def restore_target(settings, tmp_path):
    """An empty database (and files folder) to restore into."""
    if not PG_URL:
        yield replace(settings, database_url=f"sqlite:///{tmp_path / 'restored.db'}",
                      attachments_dir=tmp_path / "restored-files")
        return
    url = make_url(PG_URL)
    name = f"{url.database}_restored"
    admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield replace(settings, database_url=url.set(database=name).render_as_string(hide_password=False),
                  attachments_dir=tmp_path / "restored-files")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_while_writing_then_restore_verifies(client, login, svc, settings, restore_target, tmp_path):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    stop, written, errors = threading.Event(), [], []

    def writer():
        try:
            _write_cases(client, login, stop, written)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
            stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while len(written) < 2 and not errors:
        stop.wait(0.05)  # the writer has started; the backup now runs while it goes on
    outcome = backup(settings, tmp_path / "cunliao.tar")
    stop.set()
    thread.join()
    assert not errors, errors
    assert outcome.verification.ok and outcome.verification.cases >= 2
    # the snapshot may fall between a case's start and its upload
    assert outcome.verification.cases - 1 <= outcome.verification.attachments <= outcome.verification.cases

    checked = restore(restore_target, outcome.path)
    assert checked.ok, checked.failures
    assert (checked.cases, checked.attachments) == (outcome.verification.cases, outcome.verification.attachments)
    assert verify_database(restore_target, restore_target.attachments_dir).ok
    with create_engine(_sa(restore_target.database_url)).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Case)) == checked.cases
        assert conn.scalar(select(func.count()).select_from(Attachment)) == checked.attachments

    with pytest.raises(BackupError, match="--force"):
        restore(restore_target, outcome.path)
    assert restore(restore_target, outcome.path, force=True).ok


def test_a_changed_attachment_fails_the_restore(client, login, svc, settings, restore_target, tmp_path):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    stop = threading.Event()
    stop.set()
    _write_cases(client, login, stop, [], rounds_before_stop=1)
    outcome = backup(settings, tmp_path / "cunliao.tar", verify=False)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(outcome.path) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.startswith("attachments/") and member.isfile():
                content = b"%PDF-1.4 forged"
                member.size = len(content)
                data = io.BytesIO(content)
            dst.addfile(member, data)
    checked = restore(restore_target, tampered)
    assert not checked.ok and "attachment file" in checked.failures[0]


def _sa(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_the_commands(settings, restore_target, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cunliao.cli import main

    archive = tmp_path / "nightly.tar"
    for name, value in (("DATABASE_URL", settings.database_url), ("ATTACHMENTS_DIR", str(settings.attachments_dir))):
        monkeypatch.setenv(name, value)
    made = CliRunner().invoke(main, ["backup", "--out", str(archive)])
    assert made.exit_code == 0 and "0 cases (0 events) and 0 attachments verified" in made.output, made.output
    monkeypatch.setenv("DATABASE_URL", restore_target.database_url)
    monkeypatch.setenv("ATTACHMENTS_DIR", str(restore_target.attachments_dir))
    restored = CliRunner().invoke(main, ["restore", str(archive)])
    assert restored.exit_code == 0 and "restored and verified" in restored.output, restored.output
    again = CliRunner().invoke(main, ["restore", str(archive)])
    assert again.exit_code == 1 and "--force" in again.output

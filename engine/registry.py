"""Deployed definitions: store immutable versions and load their parsed specs.

A parsed spec is cached per version id for the life of the process; versions never change, so the
cache needs no invalidation.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .definitions import (CompiledProcess, RoleResolver, SourceFile, build_parser, compile_bundle,
                          load_forms, task_properties)
from .errors import NotFound
from .models import DefinitionFile, DefinitionVersion


@dataclass(frozen=True)
class Deployed:
    key: str
    version: int
    id: int
    created: bool


@dataclass
class LoadedSpec:
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, dict]
    version: int

    def task_spec(self, name: str, process: str | None = None):
        spec = self.subprocess_specs[process] if process and process in self.subprocess_specs else self.spec
        return spec.task_specs[name]

    def form_for(self, task_spec) -> tuple[str | None, dict | None]:
        key = task_properties(task_spec).get("formKey")
        return key, self.forms.get(key) if key else None


class DefinitionRegistry:
    def __init__(self, resolve_role: RoleResolver, sla_keys: Callable[[], set[str]] | None = None) -> None:
        self.resolve_role = resolve_role
        self.sla_keys = sla_keys
        self._cache: dict[int, LoadedSpec] = {}
        self._lock = threading.Lock()

    # -- deploy ------------------------------------------------------------------------------

    def deploy(self, session: Session, files: Iterable[SourceFile], deployed_by: str,
               now: datetime) -> list[Deployed]:
        processes = compile_bundle(files, self.deployed_files(session), self.resolve_role,
                                   self.sla_keys() if self.sla_keys else None)
        return [self._store(session, process, deployed_by, now) for process in processes]

    def _store(self, session: Session, process: CompiledProcess, deployed_by: str, now: datetime) -> Deployed:
        latest = self.latest(session, process.key, required=False)
        if latest is not None and latest.sha256 == process.sha256:
            return Deployed(process.key, latest.version, latest.id, created=False)
        for source in process.files:
            if session.get(DefinitionFile, source.sha256) is None:
                session.add(DefinitionFile(sha256=source.sha256, content=source.content))
        row = DefinitionVersion(
            process_key=process.key, version=(latest.version + 1) if latest else 1, name=process.name,
            sha256=process.sha256, files=[{"name": f.name, "sha256": f.sha256} for f in process.files],
            deployed_by=deployed_by, deployed_at=now)
        session.add(row)
        session.flush()
        return Deployed(process.key, row.version, row.id, created=True)

    def deployed_files(self, session: Session) -> list[SourceFile]:
        """The files of the latest version of every key: what new files are validated against."""
        refs: dict[str, str] = {}
        for version in self.latest_versions(session):
            for ref in version.files:
                refs.setdefault(ref["name"], ref["sha256"])
        return self._sources(session, refs.items())

    # -- read --------------------------------------------------------------------------------

    def latest_versions(self, session: Session) -> list[DefinitionVersion]:
        newest = (select(DefinitionVersion.process_key, func.max(DefinitionVersion.version).label("v"))
                  .group_by(DefinitionVersion.process_key).subquery())
        query = (select(DefinitionVersion)
                 .join(newest, (DefinitionVersion.process_key == newest.c.process_key)
                       & (DefinitionVersion.version == newest.c.v))
                 .order_by(DefinitionVersion.process_key))
        return list(session.scalars(query))

    def versions(self, session: Session, key: str) -> list[DefinitionVersion]:
        query = select(DefinitionVersion).where(DefinitionVersion.process_key == key).order_by(DefinitionVersion.version)
        return list(session.scalars(query))

    def latest(self, session: Session, key: str, required: bool = True) -> DefinitionVersion | None:
        query = (select(DefinitionVersion).where(DefinitionVersion.process_key == key)
                 .order_by(DefinitionVersion.version.desc()).limit(1))
        row = session.scalars(query).first()
        if row is None and required:
            raise NotFound(f"no process is deployed under the key '{key}'")
        return row

    def version(self, session: Session, key: str, number: int) -> DefinitionVersion:
        row = session.scalars(select(DefinitionVersion).where(
            DefinitionVersion.process_key == key, DefinitionVersion.version == number)).first()
        if row is None:
            raise NotFound(f"process '{key}' has no version {number}")
        return row

    def files(self, session: Session, version: DefinitionVersion) -> list[SourceFile]:
        return self._sources(session, ((ref["name"], ref["sha256"]) for ref in version.files))

    def main_file(self, session: Session, version: DefinitionVersion) -> SourceFile:
        """The BPMN file that defines the version's own process."""
        for source in self.files(session, version):
            if source.kind == "bpmn" and f'id="{version.process_key}"'.encode() in source.content:
                return source
        return self.files(session, version)[0]

    def load(self, session: Session, version_id: int) -> LoadedSpec:
        cached = self._cache.get(version_id)
        if cached is not None:
            return cached
        version = session.get(DefinitionVersion, version_id)
        if version is None:
            raise NotFound(f"definition version {version_id} does not exist")
        files = self.files(session, version)
        with self._lock:
            if version_id not in self._cache:
                parser = build_parser(files)
                self._cache[version_id] = LoadedSpec(
                    parser.get_spec(version.process_key), parser.get_subprocess_specs(version.process_key),
                    load_forms(files), version.version)
        return self._cache[version_id]

    @staticmethod
    def _sources(session: Session, refs: Iterable[tuple[str, str]]) -> list[SourceFile]:
        refs = list(refs)
        shas = {sha for _, sha in refs}
        contents = dict(session.execute(select(DefinitionFile.sha256, DefinitionFile.content)
                                        .where(DefinitionFile.sha256.in_(shas))).all())
        return [SourceFile(name, contents[sha]) for name, sha in refs]

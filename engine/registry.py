"""Deployed definitions: store immutable versions and load their parsed specs.

A parsed spec is cached per version id for the life of the process; versions never change, so the
cache needs no invalidation.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .definitions import (CompiledProcess, FormCheck, RoleResolver, SourceFile, build_parser, compile_bundle,
                          load_forms, task_properties)
from .errors import DefinitionInvalid, NotFound
from .models import DefinitionFile, DefinitionVersion
from .template_registry import TemplateRegistry
from .templates import template_key


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
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict, repr=False, compare=False)

    def task_spec(self, name: str, process: str | None = None):
        spec = self.subprocess_specs[process] if process and process in self.subprocess_specs else self.spec
        return spec.task_specs[name]

    def form_for(self, task_spec) -> tuple[str | None, dict | None]:
        key = task_properties(task_spec).get("formKey")
        return key, self.forms.get(key) if key else None

    def validator(self, form_key: str) -> Draft202012Validator:
        """The form's compiled JSON Schema validator, built once per definition version (its
        forms never change); racing threads may both build it, which is harmless."""
        validator = self._validators.get(form_key)
        if validator is None:
            validator = self._validators[form_key] = Draft202012Validator(self.forms[form_key])
        return validator


class DefinitionRegistry:
    def __init__(self, resolve_role: RoleResolver, sla_keys: Callable[[], set[str]] | None = None,
                 templates: TemplateRegistry | None = None, form_check: FormCheck | None = None) -> None:
        self.resolve_role = resolve_role
        self.form_check = form_check
        self.sla_keys = sla_keys
        self.templates = templates or TemplateRegistry()
        self._cache: dict[int, LoadedSpec] = {}
        self._lock = threading.Lock()

    # -- deploy ------------------------------------------------------------------------------

    def deploy(self, session: Session, files: Iterable[SourceFile], deployed_by: str,
               now: datetime) -> list[Deployed]:
        """Deploy processes, decisions, forms and document templates together: all or nothing."""
        templates, processes = self._compile_all(session, files)
        deployed = []
        for template in templates:
            row, created = self.templates.store(session, template, deployed_by, now)
            deployed.append(Deployed(f"document:{row.key}", row.version, row.id, created))
        return deployed + [self._store(session, process, deployed_by, now) for process in processes]

    def compile(self, session: Session, files: Iterable[SourceFile]) -> list[CompiledProcess]:
        """Validate ``files`` against the latest deployed versions (forms, decisions and called
        processes not in the bundle come from there); raises DefinitionInvalid. Stores nothing.

        A bundle of forms only re-deploys the latest processes that use those forms, so they pick
        the new forms up in a new version."""
        return self._compile_all(session, files)[1]

    def _compile_all(self, session: Session, files: Iterable[SourceFile]):
        files = list(files)
        template_files = [f for f in files if f.kind == "template"]
        files = [f for f in files if f.kind != "template"]
        templates, issues = self.templates.compile(session, template_files) if template_files else ([], [])
        template_keys = self.templates.keys(session) | {template_key(f.name) for f in template_files} - {None}
        processes = []
        if files:
            deployed = self.deployed_files(session)
            if all(f.kind == "form" for f in files):
                files += self._form_users(session, {f.form_key for f in files}, {f.name for f in files})
            try:
                processes = compile_bundle(files, deployed, self.resolve_role,
                                           self.sla_keys() if self.sla_keys else None, template_keys,
                                           self.form_check)
            except DefinitionInvalid as exc:
                issues = issues + exc.issues
        elif not template_files:
            processes = compile_bundle(files, [], self.resolve_role)  # raises: no files were given
        if issues:
            raise DefinitionInvalid(issues)
        return templates, processes

    def validate(self, session: Session, files: Iterable[SourceFile]) -> list[tuple[CompiledProcess, int | None, bool]]:
        """What deploying ``files`` would do: (process, latest version or None, would make a new version)."""
        answer = []
        for process in self.compile(session, files):
            latest = self.latest(session, process.key, required=False)
            answer.append((process, latest.version if latest else None,
                           latest is None or latest.sha256 != process.sha256))
        return answer

    def _form_users(self, session: Session, form_keys: set[str], names: set[str]) -> list[SourceFile]:
        """The main BPMN files of the latest versions whose closure holds one of ``form_keys``."""
        users: dict[str, SourceFile] = {}
        for version in self.latest_versions(session):
            if any(SourceFile(ref["name"], b"").kind == "form" and SourceFile(ref["name"], b"").form_key in form_keys
                   for ref in version.files):
                main = self.main_file(session, version)
                if main.name not in names:
                    users.setdefault(main.name, main)
        return list(users.values())

    def deployed_forms(self, session: Session) -> dict[str, dict]:
        """Every form of the latest versions: {key: {name, sha256, used_by: [process keys]}}; when two
        processes carry different contents under one name, the most recently deployed one wins."""
        forms: dict[str, dict] = {}
        for version in sorted(self.latest_versions(session), key=lambda v: (v.deployed_at, v.id)):
            for ref in version.files:
                source = SourceFile(ref["name"], b"")
                if source.kind != "form":
                    continue
                entry = forms.setdefault(source.form_key, {"name": ref["name"], "used_by": []})
                entry["sha256"] = ref["sha256"]
                entry["name"] = ref["name"]
                entry["used_by"].append(version.process_key)
        return forms

    def form_content(self, session: Session, sha256: str) -> bytes:
        row = session.get(DefinitionFile, sha256)
        if row is None:
            raise NotFound(f"no deployed file has the sha256 {sha256}")
        return row.content

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

"""Deployed document templates: immutable numbered versions per key, like process definitions.

A document is typeset with the latest version of its template when it is issued, and records that
version and its sha256: a corrected format applies to the next document of every open case, while
each issued document names exactly what produced it. The files live in ``definition_files``
(content-addressed) beside the BPMN and forms.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .definitions import SourceFile
from .errors import NotFound, ValidationIssue
from .models import DefinitionFile, DocumentTemplate
from .templates import META_SUFFIX, CompiledTemplate, Typesetter, compile_templates, shared_typesetter


class TemplateRegistry:
    def __init__(self, typesetter: Typesetter | None = None) -> None:
        self.typesetter = typesetter or shared_typesetter()
        self._cache: dict[int, CompiledTemplate] = {}
        self._lock = threading.Lock()

    def compile(self, session: Session, files: Iterable[SourceFile]) -> tuple[list[CompiledTemplate],
                                                                              list[ValidationIssue]]:
        """Check template files against the deployed library; stores nothing."""
        latest = self.latest_versions(session)
        deployed = {}
        for version in latest:
            for ref in version.files:
                deployed.setdefault(ref["name"], ref["sha256"])
        contents = dict(session.execute(select(DefinitionFile.sha256, DefinitionFile.content)
                                        .where(DefinitionFile.sha256.in_(set(deployed.values())))).all())
        deployed_files = [SourceFile(name, contents[sha]) for name, sha in deployed.items()]
        return compile_templates(files, deployed_files, self.typesetter, [v.key for v in latest])

    def store(self, session: Session, template: CompiledTemplate, deployed_by: str, now: datetime):
        """A new version unless the latest has the same closure; returns (version row, created)."""
        latest = self.latest(session, template.key, required=False)
        if latest is not None and latest.sha256 == template.sha256:
            return latest, False
        refs = []
        for name, content in sorted(template.files.items()):
            source = SourceFile(name, content)
            if session.get(DefinitionFile, source.sha256) is None:
                session.add(DefinitionFile(sha256=source.sha256, content=content))
            refs.append({"name": name, "sha256": source.sha256})
        row = DocumentTemplate(key=template.key, version=(latest.version + 1) if latest else 1, title=template.title,
                               sha256=template.sha256, files=refs, deployed_by=deployed_by, deployed_at=now)
        session.add(row)
        session.flush()
        return row, True

    def latest_versions(self, session: Session) -> list[DocumentTemplate]:
        newest = (select(DocumentTemplate.key, func.max(DocumentTemplate.version).label("v"))
                  .group_by(DocumentTemplate.key).subquery())
        return list(session.scalars(select(DocumentTemplate).join(
            newest, (DocumentTemplate.key == newest.c.key) & (DocumentTemplate.version == newest.c.v))
            .order_by(DocumentTemplate.key)))

    def keys(self, session: Session) -> set[str]:
        return set(session.scalars(select(DocumentTemplate.key).distinct()))

    def latest(self, session: Session, key: str, required: bool = True) -> DocumentTemplate | None:
        row = session.scalars(select(DocumentTemplate).where(DocumentTemplate.key == key)
                              .order_by(DocumentTemplate.version.desc()).limit(1)).first()
        if row is None and required:
            raise NotFound(f"no document template is deployed under the key '{key}'")
        return row

    def load(self, session: Session, version: DocumentTemplate) -> CompiledTemplate:
        """The template of a deployed version, ready to typeset (cached: versions never change)."""
        cached = self._cache.get(version.id)
        if cached is not None:
            return cached
        shas = {ref["sha256"] for ref in version.files}
        contents = dict(session.execute(select(DefinitionFile.sha256, DefinitionFile.content)
                                        .where(DefinitionFile.sha256.in_(shas))).all())
        files = {ref["name"]: contents[ref["sha256"]] for ref in version.files}
        template = CompiledTemplate(version.key, json.loads(files[f"{version.key}{META_SUFFIX}"]), files)
        with self._lock:
            self._cache.setdefault(version.id, template)
        return self._cache[version.id]

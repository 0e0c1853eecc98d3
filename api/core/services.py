"""The application's services, built once per process and reached through ``services()``."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app
from sqlalchemy import Connection, select

from engine.cases import CaseService
from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.deadlines import Deadlines
from engine.models import Case
from engine.registry import DefinitionRegistry
from engine.steps import OPEN_STATUSES

from . import formvocab
from .config import Settings
from .models import OrgUnit
from .pii import DeclaredFields, Vault


class RoleCatalogue:
    """Roles a BPMN lane may name, by code or by Chinese name (workflows/roles.json)."""

    def __init__(self, entries: list[dict]) -> None:
        self.entries = entries
        self._by_name = {}
        for entry in entries:
            for name in (entry["code"], entry["zh"], entry["en"]):
                self._by_name[name.strip().lower()] = entry["code"]

    @classmethod
    def load(cls, settings: Settings) -> "RoleCatalogue":
        with open(settings.workflows_dir / "roles.json", encoding="utf-8") as handle:
            return cls(json.load(handle)["roles"])

    def resolve(self, lane: str) -> str | None:
        return self._by_name.get((lane or "").strip().lower())

    def level(self, code: str) -> str | None:
        """Where holders of a role sit: grid, village, town, city or department."""
        return next((entry.get("level") for entry in self.entries if entry["code"] == code), None)


class UnitNames:
    """Unit names by path, read once and again when a path is not known yet (a unit just added)."""

    RELOAD_AFTER_SECONDS = 5.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._names: dict[str, str] = {}
        self._loaded_at = float("-inf")

    def describe(self, value) -> str:
        """A unit path as the unit's name; anything else as it is."""
        text = str(value)
        if text not in self._names and time.monotonic() - self._loaded_at > self.RELOAD_AFTER_SECONDS:
            self.load()
        return self._names.get(text, text)

    def load(self) -> None:
        with self.db.read() as session:
            self._names = dict(session.execute(select(OrgUnit.path, OrgUnit.name)).tuples().all())
        self._loaded_at = time.monotonic()


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    roles: RoleCatalogue
    deadlines: Deadlines
    registry: DefinitionRegistry
    cases: CaseService
    vault: Vault
    declared: DeclaredFields
    unit_names: UnitNames


# What feature packages keep per case in the case's own transaction (api/stats/summary.py: the
# KPI facts), called after every change of a case with the case and the indexed (name, value)
# pairs the change added or removed; registered at import (api/__init__.py imports
# them, so every process that uses the api has them). api/core names no feature itself.
CASE_WRITES: list[Callable[[Connection, Any, frozenset[tuple[str, str]]], None]] = []


def _case_written(conn: Connection, case, moved_fields: frozenset[tuple[str, str]]) -> None:
    for write in CASE_WRITES:
        write(conn, case, moved_fields)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url, settings.replica_url or None)
    roles = RoleCatalogue.load(settings)
    deadlines = Deadlines(db)
    registry = DefinitionRegistry(roles.resolve, deadlines.keys,
                                  form_check=lambda form: formvocab.form_problems(form, lambda r: roles.resolve(r) is not None))
    vault = Vault(settings.pii_key)
    declared = DeclaredFields(db)
    unit_names = UnitNames(db)
    catalogue = json.loads((settings.workflows_dir / "catalogue.json").read_text(encoding="utf-8"))
    cases = CaseService(db, registry, clock, roles.resolve, deadlines, case_prefix=settings.case_prefix,
                        seal=lambda data, newest_definition=None: vault.seal(data, declared(newest_definition)),
                        indexed_fields=tuple(catalogue["indexed_fields"]), role_level=roles.level,
                        describe=unit_names.describe, on_write=_case_written)
    return Services(settings, db, clock, roles, deadlines, registry, cases, vault, declared, unit_names)


def warm(svc: Services) -> dict[str, int]:
    """Fill the per-process caches a gunicorn worker would otherwise fill on its first requests (a
    fresh worker's first task completion cost some fifteen steady ones: docs/performance.md, "Task
    completion in the scale run"): the parsed specs of the latest versions and of the versions open
    cases run on, their forms' compiled validators, the declared personal fields, the SLA rules and
    calendar, the unit names. What it warms is named here, nothing else; returns how much of each
    it loaded."""
    with svc.db.read() as session:
        latest = {v.id for v in svc.registry.latest_versions(session)}
        running = set(session.scalars(select(Case.definition_id).where(Case.status.in_(OPEN_STATUSES)).distinct()))
        versions = sorted(latest | running)
        forms = 0
        for version_id in versions:
            loaded = svc.registry.load(session, version_id)
            for form_key in loaded.forms:
                loaded.validator(form_key)
            forms += len(loaded.forms)
    svc.deadlines.reload()
    svc.unit_names.load()
    return {"versions": len(versions), "forms": forms, "declared_fields": len(svc.declared()),
            "sla_rules": len(svc.deadlines.keys())}


def services() -> Services:
    return current_app.extensions["cunliao"]

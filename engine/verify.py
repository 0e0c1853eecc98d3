"""Prove that a case's history was not altered.

The **hash chain** (every event hashes onto the one before it, and the case row keeps the head)
catches an edited, dropped, reordered or inserted event; the **state seal** (the last event carries
the hash of the case row it committed: ``audit.state_seal``) catches a case row changed outside the
engine; **replay** (the events, re-run on the recorded definitions, give the stored state, data and
open tasks) also proves that the engine computed that state from those events, and is the only check
for a case last written before seals existed. An **anchor** — the heads of all cases, hashed —
exported daily catches a case deleted whole. ``engine/sweep.py`` checks chains and seals of every
case in one pass, without replay.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Iterator

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import runtime, xmlsafe
from .audit import GENESIS, SEAL_KEY, canonical, case_seal, committed, event_hash, jsonable, may_be_sealed
from .deadlines import Deadlines, Rule
from .definitions import SourceFile, build_parser, load_forms
from .files import FileStore
from .models import Case, CaseEvent, CalendarDay, DefinitionVersion, SlaRule
from .registry import DefinitionRegistry, LoadedSpec
from .replay import EventRecord, ReplayError, differences, replay, summarize

BUNDLE_FORMAT = "cunliao-audit-bundle/1"


@dataclass
class Verdict:
    ok: bool
    case_no: str
    events: int
    head: str
    first_bad_event: int | None = None
    reason: str | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    sealed: bool | None = None    # the last event seals the case row (checked: see check_seal)
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, "case_no": self.case_no, "events": self.events, "head": self.head,
               "state_sealed": bool(self.sealed)}
        if not self.ok:
            out.update(first_bad_event=self.first_bad_event, reason=self.reason, diff=self.diff)
        return out


def check_chain(case_id: int, events: list[EventRecord], hashes: list[tuple[str, str]],
                head: str, event_seq: int) -> tuple[int | None, str | None]:
    """The first event whose sequence or hash is wrong, and why; (None, None) when intact."""
    previous = GENESIS
    for position, (event, (prev_hash, digest)) in enumerate(zip(events, hashes), start=1):
        if event.seq != position:
            return position, f"event {position} is missing (found seq {event.seq} in its place)"
        if prev_hash != previous:
            return event.seq, "its link to the previous event is broken"
        if not hash_matches(digest, previous, case_id, event):
            return event.seq, "its content does not match its hash (changed after it was written)"
        previous = digest
    if len(events) != event_seq or previous != (head or GENESIS):
        last = len(events)
        return (last + 1 if len(events) < event_seq else last), (
            f"the case says it has {event_seq} events ending in {head[:12]}…, the log has {last} "
            f"ending in {previous[:12]}… (events removed from the end, or the case row altered)")
    return None, None


def hash_matches(digest: str, previous: str, case_id: int, event: EventRecord) -> bool:
    """The event hashes to ``digest``: as written now, or (only an event that may hold sealed
    values hashes differently) as written before sealed values were committed."""
    fields = (previous, case_id, event.seq, event.type, event.actor, event.at, event.payload)
    return digest == event_hash(*fields) or (may_be_sealed(event.payload)
                                             and digest == event_hash(*fields, legacy=True))


def verify_case(case: Case, events: list[EventRecord], hashes: list[tuple[str, str]],
                load: Callable[[int], LoadedSpec], engine, seal: bool = True) -> Verdict:
    """Chain, seal (``seal``: off for a bundle, whose case row carries commitments, not the sealed
    row) and replay."""
    verdict = Verdict(True, case.case_no, len(events), case.chain_head)
    bad, reason = check_chain(case.id, events, hashes, case.chain_head, case.event_seq)
    if bad is not None:
        verdict.ok, verdict.first_bad_event, verdict.reason = False, bad, reason
        return verdict
    if seal:
        check_seal(verdict, case, events)
    check_replay(verdict, case, events, load, engine)  # also after a broken seal: it says what differs
    return verdict


def check_seal(verdict: Verdict, case: Case, events: list[EventRecord]) -> None:
    """The case row is the one its last event sealed (``audit.state_seal``); sets ``verdict.sealed``.
    A case last written before seals existed has none: only replay can check it."""
    sealed = events[-1].payload.get(SEAL_KEY) if events else None
    verdict.sealed = sealed is not None
    if sealed is not None and sealed != case_seal(case):
        verdict.ok, verdict.first_bad_event = False, events[-1].seq
        verdict.reason = (f"the stored case (state, data, status or incident) is not the one event "
                          f"{events[-1].seq} sealed: it was changed outside the engine")
        verdict.diff = {"state_sha256": {"sealed": sealed, "stored": case_seal(case)}}


def check_replay(verdict: Verdict, case: Case, events: list[EventRecord], load: Callable[[int], LoadedSpec],
                 engine) -> None:
    """The events, re-run on the recorded definitions, give the stored case."""
    verdict.replayed = True
    try:
        replayed = replay(events, load, engine)
    except ReplayError as exc:
        verdict.ok, verdict.first_bad_event, verdict.reason = False, exc.seq, f"replay failed: {exc.message}"
        return
    stored_loaded = load(case.definition_id)
    stored_workflow = runtime.load(case.state, stored_loaded.spec, stored_loaded.subprocess_specs, engine)
    stored = summarize(stored_workflow, case.status, case.incident)
    diff = differences(stored, replayed.summary())
    if case.data != stored.get("data"):
        diff["case.data"] = {"stored": case.data, "replayed": stored.get("data")}
    if replayed.definition_id != case.definition_id:
        diff["definition_id"] = {"stored": case.definition_id, "replayed": replayed.definition_id}
    if diff:
        verdict.ok, verdict.diff = False, {**verdict.diff, **diff}
        verdict.first_bad_event = events[-1].seq if events else None
        verdict.reason = "the stored case differs from what its events produce"


# -- reading from the database -------------------------------------------------------------------

_EVENTS = CaseEvent.__table__
_EVENTS_OF_CASE = (select(_EVENTS.c.seq, _EVENTS.c.type, _EVENTS.c.actor, _EVENTS.c.at, _EVENTS.c.payload,
                          _EVENTS.c.prev_hash, _EVENTS.c.hash)
                   .where(_EVENTS.c.case_id == bindparam("case_id")).order_by(_EVENTS.c.seq, _EVENTS.c.id))


def load_events(session: Session, case_id: int, until: int | None = None) -> tuple[list[EventRecord], list]:
    rows = session.connection().execute(_EVENTS_OF_CASE, {"case_id": case_id}).all()
    if until is not None:
        rows = [r for r in rows if r.seq <= until]
    return ([EventRecord(r.seq, r.type, r.actor, r.at, r.payload) for r in rows],
            [(r.prev_hash, r.hash) for r in rows])


def verify_in_db(session: Session, registry: DefinitionRegistry, engine, case: Case,
                 files: FileStore | None = None) -> Verdict:
    """Chain and replay; with ``files``, also that every sealed document is stored unchanged."""
    events, hashes = load_events(session, case.id)
    verdict = verify_case(case, events, hashes, lambda i: registry.load(session, i), engine)
    if verdict.ok and files is not None:
        verify_sealed_files(verdict, events, files)
    return verdict


# Events that seal a stored file by its sha256: where the sha256 sits in their payload.
SEALED_FILES = {"document_issued": lambda p: (p.get("document") or {}).get("sha256"),
                "document_signed": lambda p: p.get("sha256")}


def verify_sealed_files(verdict: Verdict, events: list[EventRecord], files: FileStore) -> None:
    """The first document (or signed scan) whose stored file is missing or no longer has the sha256
    its event sealed."""
    for event in events:
        digest = SEALED_FILES[event.type](event.payload) if event.type in SEALED_FILES else None
        if digest and files.read(digest) is None:
            what = (event.payload.get("document") or {}).get("number") or event.payload.get("number") or "a document"
            verdict.ok, verdict.first_bad_event = False, event.seq
            verdict.reason = (f"the stored file of {what} is missing or does not match the sha256 sealed in "
                              f"event {event.seq}")
            verdict.diff = {"file": {"sealed_sha256": digest}}
            return


# -- anchors -------------------------------------------------------------------------------------

def anchor(session: Session, at: datetime) -> dict[str, Any]:
    heads = [{"case_id": c.id, "case_no": c.case_no, "seq": c.event_seq, "head": c.chain_head}
             for c in session.scalars(select(Case).order_by(Case.id))]
    root = hashlib.sha256(canonical(heads)).hexdigest()
    return {"format": "cunliao-anchor/1", "at": at.isoformat(), "cases": heads, "root": root}


def verify_anchor(session: Session, anchored: dict[str, Any]) -> list[str]:
    """Problems found: an anchored case gone, or its history no longer holding the anchored head."""
    problems = []
    if hashlib.sha256(canonical(anchored["cases"])).hexdigest() != anchored["root"]:
        problems.append("the anchor file itself was altered (its root does not match its cases)")
    for entry in anchored["cases"]:
        case = session.get(Case, entry["case_id"])
        if case is None or case.case_no != entry["case_no"]:
            problems.append(f"case {entry['case_no']} was in the anchor of {anchored['at']} and is gone")
            continue
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.seq == entry["seq"])).first()
        if entry["seq"] and (event is None or event.hash != entry["head"]):
            problems.append(f"case {entry['case_no']}: event {entry['seq']} no longer has the anchored hash")
    return problems


# -- bundles: one file that verifies offline ------------------------------------------------------

def export_bundle(session: Session, registry: DefinitionRegistry, case: Case, at: datetime) -> dict[str, Any]:
    """Everything needed to verify the case offline. Sealed values leave as their commitments
    (kind, keyed hash, digest: see ``audit.committed``), never as ciphertext: the chain and the
    replay verify on those alike, and the keyed hash still finds the same person across bundles."""
    events, hashes = load_events(session, case.id)
    used = {case.definition_id} | {e.payload.get("definition_id") for e in events if e.type == "case_started"} \
        | {e.payload.get("to_definition_id") for e in events if e.type == "case_migrated"}
    definitions = {}
    for definition_id in sorted(i for i in used if i):
        version = session.get(DefinitionVersion, definition_id)
        definitions[str(definition_id)] = {
            "process_key": version.process_key, "version": version.version, "sha256": version.sha256,
            "files": [{"name": f.name, "sha256": f.sha256, "content": base64.b64encode(f.content).decode()}
                      for f in registry.files(session, version)]}
    return {
        "format": BUNDLE_FORMAT, "exported_at": at.isoformat(),
        "case": {"id": case.id, "case_no": case.case_no, "process_key": case.process_key,
                 "definition_id": case.definition_id, "status": case.status, "data": committed(case.data),
                 "incident": case.incident, "state": _committed_state(case.state),
                 "event_seq": case.event_seq, "chain_head": case.chain_head},
        "events": [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": e.at.isoformat(),
                    "payload": committed(e.payload), "prev_hash": p, "hash": h} for e, (p, h) in zip(events, hashes)],
        "definitions": definitions,
        "sla_rules": [{"key": r.key, "duration": r.duration, "calendar": r.calendar,
                       "effective_from": r.effective_from.isoformat()} for r in session.scalars(select(SlaRule))],
        "calendar": {d.day.isoformat(): d.kind for d in session.scalars(select(CalendarDay))},
    }


def _committed_state(state: str) -> str:
    return json.dumps(committed(json.loads(state)), ensure_ascii=False) if state else state


def verify_bundle(bundle: dict[str, Any]) -> Verdict:
    """Verify an exported bundle with nothing but the bundle: no database, no deployed definitions."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ValueError("not a Cunliao audit bundle")
    specs: dict[int, LoadedSpec] = {}

    def load(definition_id: int) -> LoadedSpec:
        if definition_id not in specs:
            entry = bundle["definitions"][str(definition_id)]
            files = [SourceFile(f["name"], base64.b64decode(f["content"])) for f in entry["files"]]
            for source, ref in zip(files, entry["files"]):
                if source.sha256 != ref["sha256"]:
                    raise ValueError(f"definition file {ref['name']} does not match its sha256")
            parser = build_parser(files)
            specs[definition_id] = LoadedSpec(parser.get_spec(entry["process_key"]),
                                              parser.get_subprocess_specs(entry["process_key"]),
                                              load_forms(files), entry["version"])
        return specs[definition_id]

    deadlines = Deadlines(rules=[Rule(r["key"], r["duration"], r["calendar"], datetime.fromisoformat(r["effective_from"]))
                                 for r in bundle.get("sla_rules", [])],
                          calendar={date.fromisoformat(d): k for d, k in bundle.get("calendar", {}).items()})
    engine = runtime.script_engine(deadlines.functions())
    snapshot = bundle["case"]
    case = Case(id=snapshot["id"], case_no=snapshot["case_no"], definition_id=snapshot["definition_id"],
                status=snapshot["status"], data=snapshot["data"], incident=snapshot["incident"],
                state=snapshot["state"], event_seq=snapshot["event_seq"], chain_head=snapshot["chain_head"])
    events = [EventRecord(e["seq"], e["type"], e["actor"], datetime.fromisoformat(e["at"]), e["payload"])
              for e in bundle["events"]]
    hashes = [(e["prev_hash"], e["hash"]) for e in bundle["events"]]
    return verify_case(case, events, hashes, load, engine, seal=False)


def iter_cases(session: Session, case_nos: Iterable[str] | None = None, batch: int = 200) -> Iterator[Case]:
    """The named cases, or every case in id order, read a batch at a time: a city's 100,000 cases
    with their workflow state would not fit in memory at once."""
    if case_nos:
        yield from session.scalars(select(Case).where(Case.case_no.in_(list(case_nos))).order_by(Case.id))
        return
    last = 0
    while True:
        cases = list(session.scalars(select(Case).where(Case.id > last).order_by(Case.id).limit(batch)))
        yield from cases
        if len(cases) < batch:
            return
        last = cases[-1].id


def case_history(session: Session, registry: DefinitionRegistry, engine, case: Case, at: int) -> dict[str, Any]:
    """The case as of event ``at``: data, open tasks, the path taken, and who did what."""
    events, _ = load_events(session, case.id)
    if not events:
        raise ValueError("the case has no events")
    at = max(1, min(at, events[-1].seq))
    state = replay(events, lambda i: registry.load(session, i), engine, until=at)
    workflow = state.workflow
    drawn_in = diagram_processes(workflow)
    open_tasks = []
    for task in runtime.ready_user_tasks(workflow) if workflow is not None else []:
        spec = task.task_spec
        open_tasks.append({"element_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "lane": spec.lane,
                           "process_key": drawn_in(task.workflow.spec.name)})
    return {
        "case_no": case.case_no, "at": at, "events": events[-1].seq, "status": state.status,
        "data": jsonable(runtime.case_data(workflow)) if workflow is not None else {},
        "open_tasks": open_tasks, "path": state.path, "incident": state.incident,
        "trail": trail(state, workflow),
        "definition_id": state.definition_id,
        "actions": [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": e.at.isoformat()}
                    for e in events if e.seq <= at],
    }


def trail(state, workflow) -> list[dict[str, Any]]:
    """Per process the case went through (the top process first, then the called ones as they were
    entered): the elements completed and the elements active now, for drawing on its diagram. An
    embedded sub-process is drawn inside its process, so its elements count as that process's."""
    drawn_in = diagram_processes(workflow)
    order: list[str] = [workflow.spec.name] if workflow is not None else []
    done: dict[str, list[str]] = {}
    for name, element_id in state.trail:
        process = drawn_in(name)
        if process not in order:
            order.append(process)
        seen = done.setdefault(process, [])
        if element_id not in seen:
            seen.append(element_id)
    active: dict[str, list[str]] = {}
    open_now = list(runtime.ready_user_tasks(workflow)) + list(runtime.waiting_tasks(workflow)) if workflow else []
    for task in open_now:
        # the task itself, and the call activities it runs under in the processes above it
        while task is not None:
            process, element_id = drawn_in(task.workflow.spec.name), task.task_spec.bpmn_id
            if process not in order:
                order.append(process)
            if element_id and element_id not in active.setdefault(process, []):
                active[process].append(element_id)
            sub = task.workflow
            task = sub.top_workflow.get_task_from_id(sub.parent_task_id) if sub is not sub.top_workflow else None
    return [{"process_key": p, "done": done.get(p, []), "active": active.get(p, [])} for p in order]


def diagram_processes(workflow) -> Callable[[str], str]:
    """Spec name → the process whose diagram draws it: itself for a process, the enclosing process
    for an embedded sub-process (SpiffWorkflow runs those as sub-workflows named by their own id)."""
    parent: dict[str, str] = {}
    if workflow is not None:
        for spec in (workflow.spec, *workflow.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if isinstance(task_spec, SubWorkflowTask) and not isinstance(task_spec, CallActivity):
                    parent[task_spec.spec] = spec.name

    def drawn_in(name: str) -> str:
        seen = set()
        while name in parent and name not in seen:
            seen.add(name)
            name = parent[name]
        return name
    return drawn_in


def process_diagrams(files) -> dict[str, str]:
    """The BPMN source of each process in a version's closure, by process id."""
    diagrams = {}
    for source in files:
        if source.name.endswith(".bpmn"):
            text = source.content.decode("utf-8")
            for process_id in xmlsafe.process_ids(source.content):
                diagrams[process_id] = text
    return diagrams


def field_labels(files) -> dict[str, str]:
    """Field name → title from the forms of a version's closure (the first form naming it wins)."""
    labels: dict[str, str] = {}
    for source in sorted(files, key=lambda f: f.name):
        if source.name.endswith(".schema.json"):
            _collect_titles(json.loads(source.content), labels)
    return labels


def field_options(files) -> dict[str, dict[str, str]]:
    """Field name → {value: title} for the fields whose forms name their choices (oneOf/anyOf of
    consts with titles, also as the items of a multiple choice); values as strings."""
    options: dict[str, dict[str, str]] = {}
    for source in sorted(files, key=lambda f: f.name):
        if source.name.endswith(".schema.json"):
            _collect_options(json.loads(source.content), options)
    return options


def _collect_options(schema: dict, options: dict[str, dict[str, str]]) -> None:
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        for choices in (prop.get("oneOf"), prop.get("anyOf"), items.get("oneOf"), items.get("anyOf")):
            if isinstance(choices, list) and all(isinstance(c, dict) and "const" in c for c in choices):
                named = options.setdefault(name, {})
                for choice in choices:
                    if choice.get("title"):
                        named.setdefault(_text(choice["const"]), choice["title"])
        _collect_options(prop, options)
        if items:
            _collect_options(items, options)


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _collect_titles(schema: dict, labels: dict[str, str]) -> None:
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict):
            if prop.get("title"):
                labels.setdefault(name, prop["title"])
            _collect_titles(prop, labels)
            if isinstance(prop.get("items"), dict):
                _collect_titles(prop["items"], labels)

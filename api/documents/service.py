"""Issuing documents: typeset from the case, numbered, stored and sealed in one short transaction.

Issuing works the way every command here does: work it out without locks, write it briefly. The
document is typeset with the number it would get (the counter read without a lock); the write then
takes the number for real (``numbering.take_seq``). When someone else took that one meanwhile, the
write rolls back (the counter with it) and the document is typeset again with the next number; only
on the last try is it typeset inside the transaction, so it always ends with a number. The PDF goes
to the file store; the attachment and document rows and the ``document_issued`` event (with the
PDF's sha256) go in together, under the case's version check: a document is issued whole or not at
all, and its number is never lost.

Every document shows personal data masked: a PDF is handed to parties, departments and courts and
kept as a file, so the real ID numbers and phones never leave the sealed case data through it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from api.core.models import OrgUnit
from api.core.org import display_names
from api.core.problems import ApiProblem
from engine import store
from engine.errors import Conflict, NotFound
from engine.files import FileStore
from engine.models import Attachment, Case, CaseTask, DefinitionVersion, DocumentTemplate
from engine.store import NewEvent
from engine.templates import CompiledTemplate
from engine.verify import load_events

from . import casedata, casefile, numbering
from .models import Document
from .rendering import Heading, new_code, render, verify_url

ATTEMPTS = 4
CASE_FILE = "case_file"  # the template whose input also carries the documents and the timeline
STATUS_WORDS = {"active": "办理中", "waiting": "办理中", "incident": "故障待处理", "suspended": "已中止",
                "completed": "已办结", "cancelled": "已撤销"}


@dataclass
class _Plan:
    """Everything an issue needs, read without locks."""

    case: Case
    template_row: DocumentTemplate
    template: CompiledTemplate
    body: dict[str, Any]
    assets: dict[str, bytes]
    unit_id: int
    year: int
    seq: int
    version: int
    prefix: str
    heading: Heading
    new_number: bool
    task_id: str | None

    def numbered(self, seq: int) -> "_Plan":
        number = numbering.format_number(self.prefix, self.year, self.template.meta["number_word"], seq)
        return replace(self, seq=seq, heading=replace(self.heading, number=number))


def issue(svc, case_id: int, kind: str, principal, task_id: str | None = None,
          document_id: int | None = None) -> Document:
    """Issue ``kind`` for the case: a new number, or a new version of ``document_id`` (or of the case's
    document of a kind that is not repeatable)."""
    for attempt in range(ATTEMPTS):
        plan = _plan(svc, case_id, kind, principal, task_id, document_id)
        pdf, pages = render(svc.registry.templates.typesetter, plan.template, plan.heading, plan.body, plan.assets)
        try:
            return _write(svc, plan, pdf, pages, principal.username, last_try=attempt == ATTEMPTS - 1)
        except _NumberTaken:  # another issuer took the expected number: typeset again, outside the lock
            continue
        except (Conflict, IntegrityError):  # the case moved, or another version landed first: read again
            if attempt == ATTEMPTS - 1:
                raise Conflict("the case changed while the document was being issued; try again") from None
    raise AssertionError("unreachable: the last try typesets inside the transaction")


class _NumberTaken(Exception):
    """Rolls the write back (the counter too), so the issue can typeset with the next number."""


def _plan(svc, case_id: int, kind: str, principal, task_id: str | None, document_id: int | None) -> _Plan:
    now = svc.clock.now()
    with svc.db.read() as session:
        case = session.get(Case, case_id)
        session.expunge(case)
        template_row = svc.registry.templates.latest(session, kind)
        template = svc.registry.templates.load(session, template_row)
        meta = template.meta
        if meta.get("case_status") and case.status not in meta["case_status"]:
            wanted = "、".join(STATUS_WORDS.get(s, s) for s in meta["case_status"])
            raise ApiProblem(409, f"{kind} can be issued only when the case is {', '.join(meta['case_status'])}",
                             f"案件{wanted}后才能制作{meta['title']}")
        version_row = session.get(DefinitionVersion, case.definition_id)
        labels, options = _vocabulary(session, svc, version_row)
        _require(case.data or {}, meta.get("required") or [], labels, meta["title"])
        earlier = _earlier(session, case.id, kind, meta, document_id)
        year = now.astimezone(casedata.CHINA).year
        if earlier is not None:
            unit = session.get(OrgUnit, earlier.unit_id)
            issuer, year, seq, version = earlier.issuer, earlier.year, earlier.seq, earlier.version + 1
        else:
            unit = numbering.issuing_unit(session, principal.unit_path)
            issuer = numbering.issuer_name(session, unit, meta.get("issuer", ""))
            seq, version = numbering.expected_seq(session, unit.id, kind, year), 1
        body = _body(session, svc, case, version_row, labels, options, principal)
        assets = _case_file(session, svc, case, body) if kind == CASE_FILE else {}
    code = new_code()
    heading = Heading(meta["title"], "", version, issuer, now, code, verify_url(svc.settings.public_url, code))
    plan = _Plan(case, template_row, template, body, assets, unit.id, year, seq, version,
                 numbering.number_prefix(unit), heading, earlier is None, task_id)
    return plan.numbered(seq)


_VOCABULARIES: dict[tuple[int, int], tuple[dict, dict]] = {}


def _vocabulary(session, svc, version_row: DefinitionVersion) -> tuple[dict, dict]:
    """The case's own forms first, then every deployed one: data often comes from the process that
    started the case (the parties from 登记纠纷), whose forms are not in its version. Kept per case
    version and deployment state (versions never change; a deployment makes a new newest id)."""
    key = (version_row.id, session.scalar(select(func.max(DefinitionVersion.id))))
    if key not in _VOCABULARIES:
        if len(_VOCABULARIES) > 64:
            _VOCABULARIES.clear()
        files = svc.registry.files(session, version_row) + svc.registry.deployed_files(session)
        _VOCABULARIES[key] = casedata.vocabulary(files, svc.settings.workflows_dir)
    return _VOCABULARIES[key]


def _require(data: dict[str, Any], required: list[str], labels: dict[str, str], title: str) -> None:
    absent = casedata.missing(data, required)
    if absent:
        names = "、".join(f"「{labels.get(name, name)}」" for name in absent)
        raise ApiProblem(422, f"the case lacks the data {title} needs: {', '.join(absent)}",
                         f"案件缺少制作{title}所需的信息：{names}，请先在相应步骤填写",
                         errors={name: f"缺少「{labels.get(name, name)}」" for name in absent}, missing=absent)


def _earlier(session, case_id: int, kind: str, meta: dict, document_id: int | None) -> Document | None:
    """The latest version of the document a reissue continues, or None for a new number."""
    query = select(Document).where(Document.case_id == case_id, Document.kind == kind)
    if document_id is not None:
        chosen = session.get(Document, document_id)
        if chosen is None or chosen.case_id != case_id or chosen.kind != kind:
            raise NotFound(f"document {document_id} is not a {kind} of case {case_id}")
        query = query.where(Document.unit_id == chosen.unit_id, Document.year == chosen.year,
                            Document.seq == chosen.seq)
    elif meta.get("repeatable"):
        return None
    return session.scalars(query.order_by(Document.id.desc()).limit(1)).first()


def _body(session, svc, case: Case, version_row: DefinitionVersion, labels, options, principal) -> dict[str, Any]:
    data = casedata.case_data(case.data or {}, options)
    area = [u.name for u in session.scalars(select(OrgUnit).where(OrgUnit.path.in_(numbering.prefixes(
        case.jurisdiction)))).all() if u.kind != "city"]
    return {
        "case": {"case_no": case.case_no, "title": case.title, "process": version_row.name,
                 "status": STATUS_WORDS.get(case.status, case.status), "area": "".join(area),
                 "created_at": casedata.chinese_date(case.created_at.astimezone(casedata.CHINA).date()),
                 "completed_at": casedata.chinese_date(case.completed_at.astimezone(casedata.CHINA).date())
                 if case.completed_at else ""},
        "data": data,
        "fields": casedata.fields(data, labels),
        "people": {"issued_by": principal.display_name},
    }


def _case_file(session, svc, case: Case, body: dict[str, Any]) -> dict[str, bytes]:
    """Adds the documents and the timeline to ``body``; returns the PDFs it embeds, by file name."""
    latest: dict[tuple, Document] = {}
    for document in session.scalars(select(Document).where(Document.case_id == case.id, Document.kind != CASE_FILE)
                                    .order_by(Document.id)):
        latest[(document.unit_id, document.kind, document.year, document.seq)] = document
    files, assets, listed = FileStore(svc.settings.attachments_dir), {}, []
    for document in latest.values():
        content = files.read(document.sha256)
        if content is None:
            raise Conflict(f"the stored PDF of {document.number} is missing or altered; the case file cannot "
                           "hold it", number=document.number)
        name = f"doc-{document.id}.pdf"
        assets[name] = content
        listed.append({"title": document.title, "number": document.number, "version": document.version,
                       "issued_at": casedata.chinese_date(document.issued_at.astimezone(casedata.CHINA).date()),
                       "pages": document.pages, "sha256": document.sha256, "file": name,
                       "signed": document.signed_attachment_id is not None})
    events, _ = load_events(session, case.id)
    people = display_names(session, {e.actor for e in events})
    loaded = svc.registry.load(session, case.definition_id)
    body["documents"] = listed
    body["timeline"] = casefile.timeline(events, casefile.step_names(loaded), people)
    body["seal"] = {"events": case.event_seq, "chain_head": case.chain_head}
    return assets


def _write(svc, plan: _Plan, pdf: bytes, pages: int, actor: str, last_try: bool) -> Document:
    files = FileStore(svc.settings.attachments_dir)
    now = plan.heading.issued_at
    digest = files.put(pdf)  # named by its content: a file whose write rolls back harms nothing
    with svc.db.write_engine.begin() as conn:
        if plan.new_number:
            seq = numbering.take_seq(conn, plan.unit_id, plan.template.key, plan.year)
            if seq != plan.seq and not last_try:
                raise _NumberTaken()
            if seq != plan.seq:  # contended every time: typeset with our number inside the transaction
                plan = plan.numbered(seq)
                pdf, pages = render(svc.registry.templates.typesetter, plan.template, plan.heading, plan.body,
                                    plan.assets)
                digest = files.put(pdf)
        heading = plan.heading
        filename = f"{heading.title}-{heading.number}-第{heading.version}版.pdf"
        attachment_id = conn.execute(insert(Attachment.__table__).values(
            case_id=plan.case.id, filename=filename, content_type="application/pdf", size=len(pdf), sha256=digest,
            uploaded_by=actor, uploaded_at=now).returning(Attachment.__table__.c.id)).scalar_one()
        row = {"case_id": plan.case.id, "kind": plan.template.key, "title": heading.title, "unit_id": plan.unit_id,
               "issuer": heading.issuer, "year": plan.year, "seq": plan.seq, "number": heading.number,
               "version": heading.version, "code": heading.code, "sha256": digest, "size": len(pdf), "pages": pages,
               "attachment_id": attachment_id, "template_version": plan.template_row.version,
               "template_sha256": plan.template_row.sha256, "task_id": plan.task_id, "issued_by": actor,
               "issued_at": now}
        document_id = conn.execute(insert(Document.__table__).values(**row)
                                   .returning(Document.__table__.c.id)).scalar_one()
        store.append_events(conn, plan.case, [NewEvent("document_issued", actor, now, {"document": {
            "id": document_id, "kind": plan.template.key, "title": heading.title, "number": heading.number,
            "version": heading.version, "code": heading.code, "sha256": digest, "size": len(pdf), "pages": pages,
            "issuer": heading.issuer, "attachment_id": attachment_id, "task_id": plan.task_id,
            "template": {"version": plan.template_row.version, "sha256": plan.template_row.sha256}}})])
    return Document(id=document_id, **row)


def sign(svc, document_id: int, attachment_id: int, actor: str) -> Document:
    """Link the signed scan (an attachment of the same case) to a document version: an audit event."""
    with svc.db.read() as session:
        document = session.get(Document, document_id)
        attachment = session.get(Attachment, attachment_id)
        if document is None:
            raise NotFound(f"document {document_id} does not exist")
        if attachment is None or attachment.case_id != document.case_id:
            raise ApiProblem(422, f"attachment {attachment_id} is not an attachment of the document's case",
                             "签署件须先作为本案附件上传", errors={"attachment_id": "不是本案的附件"})
        if attachment.content_type not in ("application/pdf", "image/jpeg", "image/png"):
            raise ApiProblem(422, "a signed scan is a PDF, JPG or PNG file", "签署件应为 PDF 或图片",
                             errors={"attachment_id": "应为 PDF 或图片"})
        case = session.get(Case, document.case_id)
        session.expunge_all()
    now = svc.clock.now()
    table = Document.__table__
    with svc.db.write_engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == document_id).values(
            signed_attachment_id=attachment_id, signed_by=actor, signed_at=now))
        store.append_events(conn, case, [NewEvent("document_signed", actor, now, {
            "document_id": document_id, "number": document.number, "version": document.version,
            "attachment_id": attachment_id, "filename": attachment.filename, "sha256": attachment.sha256})])
    document.signed_attachment_id, document.signed_by, document.signed_at = attachment_id, actor, now
    return document


def required_for_task(svc, task: CaseTask, case: Case) -> list[dict[str, Any]]:
    """The documents a step requires before it completes (its ``documentsRequired``), each with
    whether it is issued and, where needed, signed."""
    from engine.definitions import required_documents

    with svc.db.read() as session:
        loaded = svc.registry.load(session, case.definition_id)
        needs = required_documents(step_properties(loaded, task.element_id))
        if not needs:
            return []
        titles = {row.key: row.title for row in svc.registry.templates.latest_versions(session)}
        documents = list(session.scalars(select(Document).where(Document.case_id == case.id,
                                                                Document.kind.in_([k for k, _ in needs]))
                                         .order_by(Document.id)))
    out = []
    for key, signed in needs:
        latest = [d for d in documents if d.kind == key][-1:]
        out.append({"kind": key, "title": titles.get(key, key), "signed_required": signed,
                    "issued": bool(latest), "signed": bool(latest and latest[0].signed_attachment_id)})
    return out


def require_documents(svc, task: CaseTask, case: Case) -> None:
    """Refuse to complete a step whose required documents are not issued (and signed) yet."""
    lacking = {}
    for need in required_for_task(svc, task, case):
        if not need["issued"]:
            lacking[f"documents.{need['kind']}"] = f"请先制作「{need['title']}」"
        elif need["signed_required"] and not need["signed"]:
            lacking[f"documents.{need['kind']}"] = f"请上传已签署的「{need['title']}」扫描件"
    if lacking:
        raise ApiProblem(422, f"step '{task.name}' needs its documents first: {', '.join(lacking)}",
                         "；".join(lacking.values()), errors=lacking)


def step_properties(loaded, element_id: str) -> dict[str, str]:
    """The extension properties of the step ``element_id`` in a case's process (or a called one)."""
    from engine.definitions import task_properties

    for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                return task_properties(task_spec)
    return {}


def verification(svc, code: str, sha256: str | None = None) -> dict[str, Any] | None:
    """What the public verification page says about a code: no personal data, no case details."""
    with svc.db.read() as session:
        document = session.scalars(select(Document).where(Document.code == code.strip().upper())).first()
        if document is None:
            return None
        latest = session.scalars(select(Document.version).where(
            Document.unit_id == document.unit_id, Document.kind == document.kind, Document.year == document.year,
            Document.seq == document.seq).order_by(Document.version.desc()).limit(1)).first()
    answer = {"issued": True, "number": document.number, "title": document.title, "version": document.version,
              "latest_version": latest, "superseded": latest != document.version, "issuer": document.issuer,
              "issued_at": document.issued_at, "pages": document.pages, "sha256": document.sha256,
              "signed": document.signed_attachment_id is not None,
              "intact": FileStore(svc.settings.attachments_dir).read(document.sha256) is not None}
    if sha256:
        answer["matches"] = sha256.strip().lower() == document.sha256
    return answer

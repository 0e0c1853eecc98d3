"""Process definitions: parse and validate a bundle of BPMN, DMN and form files.

Validation runs before anything is stored and reports every problem at once, each with its file,
element id and line, so a designer can fix a diagram in one pass. What it checks:

* well-formed XML through the hardened parser (no DTDs, entities or network);
* BPMN and DMN schema validity;
* every script, condition, timer, payload, multi-instance expression and DMN cell compiles in
  the sandbox; literal timer values are ISO-8601 of the timer's kind and within the engine's
  bounds (``sandbox.timer_values``);
* constructs the engine does not run (service tasks, data stores, scripts or expressions in
  another language, processes without an id) are listed with their element and line, whatever
  tool exported the file;
* called processes and decisions exist (in the bundle or among deployed definitions);
* every user task sits in a lane that names a known role, its assignment expression (`assign`) is
  well formed, and its form exists.

User tasks carry Cunliao's extension properties as ``spiffworkflow:property`` entries:
``formKey`` (a JSON Schema form in the bundle), ``slaKey`` (a row of the SLA table), ``dueIn`` (an
ISO-8601 duration, when no SLA key fits), ``returnable`` ("true" marks a step work may be
returned to), ``unitVariable`` (a data variable holding the unit path the task is offered in),
``dueVariable`` (a data variable holding the instant the task is due, computed by the process),
``instanceName`` (a data variable naming what a parallel instance is for, added to the task's
name), ``documents`` (the document templates the step offers to issue, comma-separated keys)
and ``documentsRequired`` (the documents that must be issued before the step completes: ``key``, or
``key:signed`` when the signed scan must be uploaded too). Template keys must be deployed or in the
bundle (engine/templates.py).

A file from another modelling tool deploys when it uses what the engine runs (vendor extensions,
diagrams, annotations, groups, lanes within lanes and data objects are ignored or read as usual);
every executable process of a collaboration is deployed as a process of its own, and its message
flows work through the engine's message delivery. Whatever the file, the answer is the deployed
processes or DefinitionInvalid, never another exception.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Callable, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from . import assignment, bounds, runtime, xmlsafe
from . import definition_checks as checks
from .sandbox import timer_values
from .errors import DefinitionInvalid, ValidationIssue
from .templates import is_template_file

from .definition_checks import BPMN_NS, SPIFF_NS
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
FORM_SUFFIX = ".schema.json"

RoleResolver = Callable[[str], "str | None"]
# The application's own checks of a form's extension keywords (x-options, x-facts…): messages.
FormCheck = Callable[[dict], "list[str]"]


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def kind(self) -> str:
        name = self.name.lower()
        if is_template_file(name):
            return "template"
        if name.endswith(".bpmn"):
            return "bpmn"
        if name.endswith(".dmn"):
            return "dmn"
        if name.endswith(".json"):
            return "form"
        return "other"

    @property
    def form_key(self) -> str:
        base = PurePath(self.name).name
        return base[: -len(FORM_SUFFIX)] if base.endswith(FORM_SUFFIX) else base.removesuffix(".json")


@dataclass
class CompiledProcess:
    """A process key found in the bundle, with the closure of files it needs."""

    key: str
    name: str
    files: list[SourceFile]

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for source in sorted(self.files, key=lambda f: f.name):
            digest.update(f"{source.name}\0{source.sha256}\n".encode())
        return digest.hexdigest()


@dataclass
class _Bundle:
    """Parsed sources: new files override deployed ones of the same name."""

    files: dict[str, SourceFile] = field(default_factory=dict)
    roots: dict[str, etree._Element] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)
    sla_keys: set[str] | None = None
    template_keys: set[str] | None = None
    form_check: FormCheck | None = None

    def unknown_sla(self, key: str) -> bool:
        return self.sla_keys is not None and key not in self.sla_keys

    def issue(self, file: str, message: str, element_id: str | None = None, line: int | None = None) -> None:
        self.issues.append(ValidationIssue(file, element_id, line, message))

    def issue_once(self, file: str, message: str, element_id: str | None = None, line: int | None = None) -> None:
        """An issue from the parser, unless the element already has one in our own words."""
        if element_id is None or not any(i.file == file and i.element_id == element_id for i in self.issues):
            self.issue(file, message, element_id, line)


def compile_bundle(new_files: Iterable[SourceFile], deployed_files: Iterable[SourceFile],
                   resolve_role: RoleResolver, sla_keys: set[str] | None = None,
                   template_keys: set[str] | None = None, form_check: FormCheck | None = None) -> list[CompiledProcess]:
    """Validate ``new_files`` against the deployed library and return the processes they define.

    ``sla_keys``, when given, are the SLA table's keys that ``slaKey`` and ``sla_due('…')`` may name;
    ``template_keys`` the document templates ``documents`` and ``documentsRequired`` may name;
    ``form_check`` the application's check of its form vocabulary (run on the new forms).
    Raises DefinitionInvalid with every issue found.
    """
    new_files = list(new_files)
    if not new_files:
        raise DefinitionInvalid([ValidationIssue("", None, None, "no files were given")])
    bundle = _Bundle(sla_keys=sla_keys, template_keys=template_keys, form_check=form_check)
    for source in new_files:
        _load_source(bundle, source, validate=True)
    new_names = {f.name for f in new_files}
    for source in deployed_files:
        if source.name not in new_names and source.name not in bundle.files:
            _load_source(bundle, source, validate=False)

    declared = checks.declared_ids(bundle.roots.values())
    for source in new_files:
        root = bundle.roots.get(source.name)
        if root is not None:
            checks.check_file(bundle, source.name, root, source.kind, declared)
    parser = _build_parser(bundle)
    keys = _process_keys(bundle, new_names)
    processes = [_compile_process(bundle, parser, key, resolve_role) for key in keys]
    if not any(f.kind in ("bpmn", "dmn") for f in new_files) and not bundle.issues:
        bundle.issue(new_files[0].name, "the bundle has no .bpmn or .dmn file")
    if not keys and not bundle.issues:
        checks.nothing_executable(bundle, {f.name: bundle.roots[f.name] for f in new_files
                                           if f.kind == "bpmn" and f.name in bundle.roots})
    if bundle.issues:
        raise DefinitionInvalid(bundle.issues)
    return [p for p in processes if p is not None]


class CaseParser(SpiffBpmnParser):
    """SpiffBpmnParser whose specs carry the engine's bounds (``bounds.bound_spec``) and whose loop
    tasks are wired to their instances (``runtime.connect_loop_tasks``: after the bounds, which
    change the loop tasks' class)."""

    def get_spec(self, process_id, required=True):
        spec = super().get_spec(process_id, required)
        return runtime.connect_loop_tasks(bounds.bound_spec(spec)) if spec is not None else None


def build_parser(files: Iterable[SourceFile]) -> CaseParser:
    """A parser over already-validated files, for loading a deployed version's spec."""
    parser = CaseParser()
    for source in files:
        if source.kind == "bpmn":
            parser.add_bpmn_xml(xmlsafe.parse(source.content), filename=source.name)
        elif source.kind == "dmn":
            parser.add_dmn_xml(_spaced_dmn_cells(xmlsafe.parse(source.content)), filename=source.name)
    return parser


def _spaced_dmn_cells(root: etree._Element) -> etree._Element:
    """SpiffWorkflow joins an input expression and a cell with no space between them, so a cell
    ``in ("a", "b")`` on input ``category`` became ``categoryin (…)``; give such cells their space."""
    for node in root.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == "text" and node.text:
            parent = node.getparent()
            if parent is not None and etree.QName(parent).localname == "inputEntry":
                text = node.text.strip()
                if text.startswith(("in ", "in(", "not in ", "not in(")):
                    node.text = " " + text
    return root


def load_forms(files: Iterable[SourceFile]) -> dict[str, dict]:
    return {f.form_key: json.loads(f.content) for f in files if f.kind == "form"}


def task_properties(task_spec) -> dict[str, str]:
    return dict(getattr(task_spec, "extensions", {}).get("properties", {}))


def offered_documents(props: dict[str, str]) -> list[str]:
    """The template keys of a step's ``documents`` property."""
    return [key.strip() for key in (props.get("documents") or "").split(",") if key.strip()]


def required_documents(props: dict[str, str]) -> list[tuple[str, bool]]:
    """(template key, signed scan required) for each entry of ``documentsRequired``."""
    entries = []
    for entry in (props.get("documentsRequired") or "").split(","):
        key, _, condition = entry.strip().partition(":")
        if key.strip():
            entries.append((key.strip(), condition.strip()))
    return [(key, condition == "signed") for key, condition in entries]


# -- loading -------------------------------------------------------------------------------------

def _load_source(bundle: _Bundle, source: SourceFile, validate: bool) -> None:
    bundle.files[source.name] = source
    if source.kind == "form":
        _load_form(bundle, source, validate)
        return
    if source.kind == "other":
        bundle.issue(source.name, "unsupported file type: use .bpmn, .dmn, .schema.json, .typ or .document.json")
        return
    try:
        root = xmlsafe.parse(source.content)
    except xmlsafe.UnsafeXml as exc:
        bundle.issue(source.name, exc.message, line=exc.line)
        return
    if validate and source.kind == "bpmn":
        if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
            bundle.issue(source.name, "not a BPMN 2.0 file: the root element must be bpmn:definitions")
            return
        try:
            VALIDATOR.validate(root, source.name)
        except ValidationException as exc:
            bundle.issue(source.name, f"BPMN schema: {exc}", line=_int(exc.line_number))
            return
    bundle.roots[source.name] = root


def _load_form(bundle: _Bundle, source: SourceFile, validate: bool) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        schema = json.loads(source.content)
        Draft202012Validator.check_schema(schema)
    except ValueError as exc:
        bundle.issue(source.name, f"form is not valid JSON: {exc}")
        return
    except SchemaError as exc:
        bundle.issue(source.name, f"form is not a valid JSON Schema: {exc.message}")
        return
    if not isinstance(schema, dict) or schema.get("type") != "object":
        bundle.issue(source.name, 'a form schema must be an object schema ("type": "object")')
        return
    for problem in (bundle.form_check(schema) if validate and bundle.form_check else []):
        bundle.issue(source.name, problem)
    bundle.forms[source.form_key] = schema


def _build_parser(bundle: _Bundle) -> CaseParser | None:
    parser = CaseParser()
    for name, root in bundle.roots.items():
        try:
            if bundle.files[name].kind == "bpmn":
                parser.add_bpmn_xml(root, filename=name)
            else:
                parser.add_dmn_xml(_spaced_dmn_cells(root), filename=name)
        except ValidationException as exc:
            bundle.issue(name, str(exc), exc.id or None, _int(exc.line_number) or _line_of(root, exc.id))
        except Exception as exc:  # the parser's own assertions on malformed models
            bundle.issue(name, f"cannot read the model: {exc}")
    return parser


def _process_keys(bundle: _Bundle, new_names: set[str]) -> list[str]:
    keys = []
    for name in sorted(new_names):
        root = bundle.roots.get(name)
        if root is None or bundle.files[name].kind != "bpmn":
            continue
        for process in root.iterfind(f"{{{BPMN_NS}}}process"):
            if process.get("id") and process.get("isExecutable", "true") != "false":
                keys.append(process.get("id"))
    return keys


# -- per process ---------------------------------------------------------------------------------

def _compile_process(bundle: _Bundle, parser: CaseParser, key: str,
                     resolve_role: RoleResolver) -> CompiledProcess | None:
    if key not in parser.process_parsers:
        return None  # its file could not be read: that is already an issue
    process_file = parser.process_parsers[key].filename
    root = bundle.roots[process_file]
    if not _references_resolve(bundle, parser, process_file, root):
        return None
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
        return _closure(bundle, parser, key, spec, subprocess_specs, resolve_role)
    except ValidationException as exc:
        file = exc.file_name or process_file
        line = _int(exc.line_number) or _line_of(bundle.roots.get(file, root), exc.id)
        bundle.issue_once(file, str(exc), exc.id or None, line)
    except Exception as exc:  # the parser's own failures on models it does not expect
        bundle.issue_once(process_file, f"process {key}: cannot read the model: {exc}", key, _line_of(root, key))
    return None


def _closure(bundle: _Bundle, parser: CaseParser, key: str, spec, subprocess_specs,
             resolve_role: RoleResolver) -> CompiledProcess:
    process_file = parser.process_parsers[key].filename

    needed_files = {process_file}
    needed_forms: set[str] = set()
    for sub_key in subprocess_specs:
        needed_files.add(parser.process_parsers[sub_key].filename)
    for each_spec in [spec, *subprocess_specs.values()]:
        file = parser.process_parsers[each_spec.name].filename
        for task_spec in each_spec.task_specs.values():
            decision = getattr(task_spec, "dmnEngine", None)
            if decision is not None:
                needed_files.update(_decision_files(parser))
            if getattr(task_spec, "manual", False):
                form = _check_user_task(bundle, file, task_spec, resolve_role)
                if form:
                    needed_forms.add(form)
    form_files = [f for f in bundle.files.values() if f.kind == "form" and f.form_key in needed_forms]
    files = [bundle.files[name] for name in sorted(needed_files)] + form_files
    return CompiledProcess(key=key, name=spec.description or key, files=files)


def _references_resolve(bundle: _Bundle, parser: CaseParser, file: str, root: etree._Element) -> bool:
    """Report every call to a missing process or decision (the parser stops at the first)."""
    ok = True
    for node in root.iter(f"{{{BPMN_NS}}}callActivity"):
        called = node.get("calledElement")
        if called not in parser.process_parsers:
            ok = False
            bundle.issue(file, f"called process '{called}' is neither in the bundle nor deployed",
                         node.get("id"), node.sourceline)
    for node in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        decision = node.findtext(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}calledDecisionId")
        if decision is not None and decision.strip() not in parser.dmn_parsers:
            ok = False
            bundle.issue(file, f"decision '{decision.strip()}' is neither in the bundle nor deployed",
                         node.get("id"), node.sourceline)
    return ok


def _decision_files(parser: CaseParser) -> set[str]:
    # A decision table may call none, one or all of the deployed decisions in a bundle; the closure
    # keeps every DMN file so a version never depends on what is deployed later.
    return {p.filename for p in parser.dmn_parsers.values()}


def _check_user_task(bundle: _Bundle, file: str, task_spec, resolve_role: RoleResolver) -> str | None:
    element_id = task_spec.bpmn_id
    line = _line_of(bundle.roots.get(file), element_id)
    label = task_spec.bpmn_name or element_id
    if not task_spec.lane:
        bundle.issue(file, f"user task '{label}' is not in a lane; put it in the lane of the role that "
                           "does it", element_id, line)
    elif resolve_role(task_spec.lane) is None:
        bundle.issue(file, f"user task '{label}' is in lane '{task_spec.lane}', which names no known role",
                     element_id, line)
    props = task_properties(task_spec)
    wrong = assignment.problem(props)
    if wrong:
        bundle.issue(file, wrong, element_id, line)
    due_in = props.get("dueIn")
    problem = due_in and timer_values.check_literal("timeDuration", due_in)
    if problem:
        bundle.issue(file, f"dueIn: {problem}", element_id, line)
    sla_key = props.get("slaKey")
    if sla_key and bundle.unknown_sla(sla_key):
        bundle.issue(file, f"slaKey '{sla_key}' is not in the SLA table", element_id, line)
    for name in ("unitVariable", "dueVariable", "instanceName"):
        if props.get(name) and not props[name].isidentifier():
            bundle.issue(file, f"{name} '{props[name]}' must name a data variable", element_id, line)
    form_key = props.get("formKey")
    if form_key and form_key not in bundle.forms:
        bundle.issue(file, f"form '{form_key}' is not in the bundle nor deployed", element_id, line)
    _check_documents(bundle, file, props, element_id, line)
    return form_key


def _check_documents(bundle: _Bundle, file: str, props: dict[str, str], element_id: str, line: int | None) -> None:
    for entry in (props.get("documentsRequired") or "").split(","):
        _, _, condition = entry.strip().partition(":")
        if condition.strip() not in ("", "signed"):
            bundle.issue(file, f"documentsRequired '{entry.strip()}': write a template key, or key:signed when "
                               "the signed scan must be uploaded too", element_id, line)
    keys = offered_documents(props) + [key for key, _ in required_documents(props)]
    for key in keys:
        if bundle.template_keys is not None and key not in bundle.template_keys:
            bundle.issue(file, f"document template '{key}' is not in the bundle nor deployed", element_id, line)


def _line_of(root: etree._Element | None, element_id: str | None) -> int | None:
    if root is None or not element_id:
        return None
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") == element_id:
            return node.sourceline
    return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

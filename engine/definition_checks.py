"""Checks of one BPMN or DMN file's content, before any parser reads it (``definitions`` runs them).

Every script, condition, timer, payload, multi-instance expression and DMN cell must compile in the sandbox,
and literal timer values must be ISO-8601 of the timer's kind within the engine's bounds. Constructs the
engine does not run — service tasks, data stores, scripts and expressions in another language (JUEL, FEEL,
JavaScript...), processes without an id — are named with their element and line, in words a designer can act
on, whatever tool exported the file. (SpiffWorkflow ignores ``isInterrupting`` on the start of an event
sub-process, so an interrupting one is refused rather than run as if it did not interrupt.)
"""
from __future__ import annotations

import ast
import re
from typing import Iterable, Protocol

from lxml import etree

from . import sandbox
from .sandbox import timer_values

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


class Issues(Protocol):
    def issue(self, file: str, message: str, element_id: str | None = None, line: int | None = None) -> None: ...

    def unknown_sla(self, key: str) -> bool: ...


_EXPRESSION_TAGS = {
    f"{{{BPMN_NS}}}conditionExpression": "condition",
    f"{{{BPMN_NS}}}loopCardinality": "multi-instance cardinality",
    f"{{{BPMN_NS}}}completionCondition": "completion condition",
    f"{{{BPMN_NS}}}formalExpression": "expression",
    f"{{{SPIFF_NS}}}messagePayload": "message payload",
}
_TIMER_TAGS = {f"{{{BPMN_NS}}}{kind}": kind for kind in timer_values.KINDS}
_SCRIPT_TAGS = {f"{{{BPMN_NS}}}script": "script", f"{{{SPIFF_NS}}}preScript": "pre-script",
                f"{{{SPIFF_NS}}}postScript": "post-script"}
_SLA_CALL = re.compile(r"""sla_due\(\s*['"]([^'"]+)['"]\s*\)""")
_PYTHON_FORMATS = {"python", "python3", "py", "text/python", "text/x-python", "application/x-python"}
_REFERENCES = {"messageRef": "message", "signalRef": "signal", "errorRef": "error", "escalationRef": "escalation"}
_DECISION_ID = f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}calledDecisionId"
_DATA_STORES = {f"{{{BPMN_NS}}}dataStore", f"{{{BPMN_NS}}}dataStoreReference"}
_UNSUPPORTED = {
    f"{{{BPMN_NS}}}serviceTask": "service tasks are not supported: a process makes no calls outside the engine; "
                                 "use a script task, or a message to another process",
    f"{{{BPMN_NS}}}dataStore": "data stores are not supported: a case keeps its data itself (task data or a "
                               "data object)",
    f"{{{BPMN_NS}}}dataStoreReference": "data stores are not supported: a case keeps its data itself (task data "
                                        "or a data object)",
}


def check_file(bundle: Issues, file: str, root: etree._Element, kind: str = "bpmn",
               declared: dict[str, set[str]] | None = None) -> None:
    """Report every problem of one file's content (DMN: its cells). ``declared``: what references may name
    (see :func:`declared_ids`), by default what the file itself declares."""
    if kind == "dmn":
        _check_dmn_cells(bundle, file, root)
        return
    _check_constructs(bundle, file, root, declared if declared is not None else declared_ids([root]))
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        text = (node.text or "").strip()
        if not text:
            continue
        if node.tag in _SCRIPT_TAGS:
            problem = None if _foreign_language(node.getparent()) else sandbox.check_script(node.text)
            what = _SCRIPT_TAGS[node.tag]
        elif node.tag in _TIMER_TAGS:
            problem = check_timer(_TIMER_TAGS[node.tag], text)
            what = "timer"
        elif node.tag in _EXPRESSION_TAGS:
            problem = _foreign_expression(text) or sandbox.check_expression(text)
            what = _EXPRESSION_TAGS[node.tag]
        else:
            continue
        if problem:
            bundle.issue(file, f"{what}: {problem}", owner_id(node), node.sourceline)
        for key in _SLA_CALL.findall(text):
            if bundle.unknown_sla(key):
                bundle.issue(file, f"{what}: sla_due('{key}') names no rule of the SLA table", owner_id(node),
                             node.sourceline)


def check_timer(kind: str, text: str) -> str | None:
    """None if a timer's text is fine at deploy time: an expression computed at run time (checked when the
    timer starts), or a literal of the timer's kind within the bounds (``"P3D"`` or, as other tools write
    it, ``P3D``)."""
    value = timer_values.literal(text)
    if value is None:
        problem = _foreign_expression(text) or sandbox.check_expression(text)
        if problem:
            return problem
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None  # computed from data at run time
        if not isinstance(value, str):
            return 'a timer must give an ISO-8601 date, duration or cycle as text, e.g. "P3D"'
    return timer_values.check_literal(kind, value)


def _foreign_expression(text: str) -> str | None:
    if text.startswith(("${", "#{")):
        return (f"'{text[:40]}' is a JUEL expression; expressions here are Python, e.g. amount > 1000 "
                "or status == 'done'")
    if text.startswith("="):
        return f"'{text[:40]}' is a FEEL expression; expressions here are Python, e.g. amount > 1000"
    return None


def _foreign_language(task: etree._Element | None) -> bool:
    """Whether a script task says its script is in another language than Python."""
    script_format = (task.get("scriptFormat") or "").strip().lower() if task is not None else ""
    return bool(script_format) and script_format not in _PYTHON_FORMATS


def declared_ids(roots: Iterable[etree._Element]) -> dict[str, set[str]]:
    """The ids of the messages, signals, errors and escalations the files declare, by kind."""
    found: dict[str, set[str]] = {kind: set() for kind in _REFERENCES.values()}
    for root in roots:
        for node in root.iter(*(f"{{{BPMN_NS}}}{kind}" for kind in _REFERENCES.values())):
            found[etree.QName(node).localname].add(node.get("id"))
    return found


def _check_constructs(bundle: Issues, file: str, root: etree._Element, declared: dict[str, set[str]]) -> None:
    """Name what the engine does not run, then leave data stores out of the tree so that the parser (which
    refuses the whole file for one) can still report everything else."""
    stores = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute, kind in _REFERENCES.items():
            ref = node.get(attribute)
            if ref is not None and ref not in declared.get(kind, ()):
                bundle.issue(file, f"{attribute} '{ref}' names no {kind} declared in the bundle or deployed",
                             owner_id(node), node.sourceline)
        if node.tag == f"{{{BPMN_NS}}}process" and not node.get("id"):
            bundle.issue(file, "a process needs an id", None, node.sourceline)
        elif node.tag in _UNSUPPORTED:
            bundle.issue(file, _UNSUPPORTED[node.tag], node.get("id"), node.sourceline)
        elif node.tag == f"{{{BPMN_NS}}}businessRuleTask" and node.find(_DECISION_ID) is None:
            bundle.issue(file, "a business rule task names its decision table with spiffworkflow:calledDecisionId",
                         node.get("id"), node.sourceline)
        elif node.tag == f"{{{BPMN_NS}}}startEvent" and _interrupts_an_event_sub_process(node):
            bundle.issue(file, "this engine runs event sub-processes without interrupting the process: mark the "
                               "start event non-interrupting (isInterrupting=\"false\"), or use an interrupting "
                               "boundary event on the activity", node.get("id"), node.sourceline)
        elif node.tag == f"{{{BPMN_NS}}}scriptTask" and _foreign_language(node):
            bundle.issue(file, f"scriptFormat '{node.get('scriptFormat')}' is not supported: scripts are Python "
                               "(run in a sandbox)", node.get("id"), node.sourceline)
        if node.tag in _DATA_STORES:
            stores.append(node)
    _detach_data_stores(root, stores)


def _interrupts_an_event_sub_process(start: etree._Element) -> bool:
    parent = start.getparent()
    return (parent is not None and parent.tag == f"{{{BPMN_NS}}}subProcess"
            and parent.get("triggeredByEvent") == "true" and start.get("isInterrupting", "true") != "false")


def _detach_data_stores(root: etree._Element, stores: list[etree._Element]) -> None:
    refs = {node.get("id") for node in stores}
    for node in list(root.iter(f"{{{BPMN_NS}}}dataInputAssociation", f"{{{BPMN_NS}}}dataOutputAssociation")):
        ends = {(child.text or "").strip() for child in node if etree.QName(child).localname in ("sourceRef",
                                                                                                  "targetRef")}
        if ends & refs:
            stores.append(node)
    for node in stores:
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)


def nothing_executable(bundle: Issues, roots: dict[str, etree._Element]) -> None:
    """Report a bundle of BPMN files none of whose processes can run."""
    for file, root in roots.items():
        processes = list(root.iter(f"{{{BPMN_NS}}}process"))
        if not processes and etree.QName(root).localname == "definitions" and etree.QName(root).namespace == BPMN_NS:
            bundle.issue(file, "the file defines no process to deploy", None, root.sourceline)
        for process in processes:
            bundle.issue(file, f"process '{process.get('id')}' is not executable (isExecutable=\"false\"), so there "
                               "is nothing to deploy; set isExecutable to true to run it", process.get("id"),
                         process.sourceline)


def _check_dmn_cells(bundle: Issues, file: str, root: etree._Element) -> None:
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).localname != "text":
            continue
        parent = etree.QName(node.getparent()).localname
        text = (node.text or "").strip()
        if not text or text == "-":
            continue
        if parent == "inputEntry":
            candidates = [f"x {text}", text] if text[:1] in "<>=!" or text.startswith("in ") else [text, f"x {text}"]
        elif parent in ("outputEntry", "inputExpression"):
            candidates = [text]
        else:
            continue
        problems = [sandbox.check_expression(c) for c in candidates]
        if all(problems):
            bundle.issue(file, f"decision cell: {problems[0]}", owner_id(node), node.sourceline)


def owner_id(node: etree._Element) -> str | None:
    """The id a designer sees on the diagram: the element, not its inner event definition."""
    while node is not None:
        if node.get("id") and not etree.QName(node).localname.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None

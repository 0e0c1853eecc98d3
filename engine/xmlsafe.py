"""A hardened XML parser for uploaded BPMN and DMN files.

Uploaded diagrams come from people, so the parser refuses what XML lets a file do to a server:
document type declarations (the door to entity bombs and external entities), network access and
oversized input. Refusals are ``UnsafeXml`` with a message a designer can act on.
"""
from __future__ import annotations

import re

from lxml import etree

MAX_FILE_BYTES = 5 * 1024 * 1024
_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=False)


def parse(content: bytes) -> etree._Element:
    if len(content) > MAX_FILE_BYTES:
        raise UnsafeXml(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    marker = _DTD_MARKERS.search(content)
    if marker:
        line = content.count(b"\n", 0, marker.start()) + 1
        raise UnsafeXml("document type declarations (DOCTYPE/ENTITY) are not allowed", line)
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"not well-formed XML: {exc.msg}", exc.lineno) from None
    if root.getroottree().docinfo.doctype:
        raise UnsafeXml("document type declarations are not allowed")
    return root


BPMN_PROCESS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"


def process_ids(content: bytes) -> list[str]:
    """The ids of the processes a BPMN file defines."""
    return [node.get("id") for node in parse(content).iter(BPMN_PROCESS) if node.get("id")]

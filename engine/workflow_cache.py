"""Deserialized workflows kept between commands, so a case moved step after step is not rebuilt
from its saved state every time (loading the state was the largest part of a command's CPU).

An entry is only ever the committed state: a command takes the workflow out (two commands never
share one object), and it is put back only after its transaction committed, under the case's new
version and chain head. A command that fails or rolls back never puts it back, so the half-run
object is dropped. The key holds the case row's version and chain head as read: when another
process (or another node) wrote the case since, they differ, and the state is loaded from the row
as before. The spec object is part of the key too: a registry that reloaded a definition hands out
a new spec, and a workflow built on the old one is not used with it.

With the workflow, an entry keeps the case's ready task rows as that commit left them, so the next
command need not read them either. Task rows change without the workflow changing only by task
actions (claim, assign …), which move the row's version: ``moved`` keeps the workflow and forgets
the rows, and the next command reads them.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple

SIZE = 16  # per service: enough for the cases one worker moves at a time, small in memory


class Kept(NamedTuple):
    workflow: Any
    ready: tuple[dict[str, Any], ...] | None  # the ready task rows' columns; None: read them
    derived: Any = None  # what the caller derived from the workflow (its index rows …); None: derive it


class WorkflowCache:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[int, str, Any, Kept]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int, chain_head: str, spec: Any) -> Kept | None:
        """The case's workflow (and ready task rows) if the cached one is exactly this committed
        state, else None; either way the entry leaves the cache (the caller now owns the object)."""
        with self._lock:
            entry = self._entries.pop(case_id, None)
        if entry is None:
            return None
        cached_version, cached_head, cached_spec, kept = entry
        if cached_version != version or cached_head != chain_head or cached_spec is not spec:
            return None
        return kept

    def put(self, case_id: int, version: int, chain_head: str, spec: Any, workflow: Any,
            ready: tuple[dict[str, Any], ...] | None = None, derived: Any = None) -> None:
        """Keep ``workflow`` (and the ``ready`` task rows, and what the caller ``derived`` from the
        workflow) as the state committed at ``version``/``chain_head`` (after the commit)."""
        with self._lock:
            self._entries[case_id] = (version, chain_head, spec, Kept(workflow, ready, derived))
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def moved(self, case_id: int, before: tuple[int, str], after: tuple[int, str]) -> None:
        """The case's row moved on from ``before`` to ``after`` (version, chain head) without its
        workflow changing (an annotation or a task action, committed): the cached state is still
        the case's, its task rows may not be."""
        with self._lock:
            entry = self._entries.get(case_id)
            if entry is not None and entry[:2] == before:
                self._entries[case_id] = (*after, entry[2], Kept(entry[3].workflow, None, entry[3].derived))

    def __len__(self) -> int:
        return len(self._entries)

"""Deserialized workflows kept between commands, so a case moved step after step is not rebuilt
from its saved state every time (loading the state was the largest part of a command's CPU).

An entry is only ever the committed state: a command takes the workflow out (two commands never
share one object), and it is put back only after its transaction committed, under the case's new
version and chain head. A command that fails or rolls back never puts it back, so the half-run
object is dropped. The key holds the case row's version and chain head as read: when another
process (or another node) wrote the case since, they differ, and the state is loaded from the row
as before. The spec object is part of the key too: a registry that reloaded a definition hands out
a new spec, and a workflow built on the old one is not used with it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

SIZE = 16  # per service: enough for the cases one worker moves at a time, small in memory


class WorkflowCache:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[int, str, Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int, chain_head: str, spec: Any) -> Any | None:
        """The case's workflow if the cached one is exactly this committed state, else None; either
        way the entry leaves the cache (the caller now owns the object)."""
        with self._lock:
            entry = self._entries.pop(case_id, None)
        if entry is None:
            return None
        cached_version, cached_head, cached_spec, workflow = entry
        if cached_version != version or cached_head != chain_head or cached_spec is not spec:
            return None
        return workflow

    def put(self, case_id: int, version: int, chain_head: str, spec: Any, workflow: Any) -> None:
        """Keep ``workflow`` as the state committed at ``version``/``chain_head`` (after the commit)."""
        with self._lock:
            self._entries[case_id] = (version, chain_head, spec, workflow)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def moved(self, case_id: int, before: tuple[int, str], after: tuple[int, str]) -> None:
        """The case's row moved on from ``before`` to ``after`` (version, chain head) without its
        workflow changing (an annotation, committed): the cached state is still the case's."""
        with self._lock:
            entry = self._entries.get(case_id)
            if entry is not None and entry[:2] == before:
                self._entries[case_id] = (*after, *entry[2:])

    def __len__(self) -> int:
        return len(self._entries)

"""The file store of case attachments and issued documents: bytes on disk, named by their sha256.

A name is its content's hash, so a file is written once and never changed, and anyone can check it
against the sha256 sealed in a case's audit log. Files are written under a temporary name of their
own and renamed, so a half-written file never carries a final name, and two processes storing the
same bytes at once (two web nodes on one shared folder) never write into each other's temporary
file: the last rename wins with identical content.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, content: bytes) -> str:
        """Store ``content``; returns its sha256 (storing the same bytes twice is a no-op)."""
        digest = hashlib.sha256(content).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{digest}.{uuid.uuid4().hex}.part")
            try:
                temporary.write_bytes(content)
                temporary.replace(path)
            finally:
                if temporary.exists():  # the write failed (disk full): leave no litter
                    os.unlink(temporary)
        return digest

    def read(self, digest: str) -> bytes | None:
        """The stored bytes, or None when the file is missing or no longer matches its name."""
        path = self.path(digest)
        if not path.exists():
            return None
        content = path.read_bytes()
        return content if hashlib.sha256(content).hexdigest() == digest else None

"""Document templates: Typst sources that typeset a case's data into a PDF.

A template is ``<key>.typ`` with its description ``<key>.document.json`` (title, number word,
required fields, an example input); other ``.typ`` files are libraries a template imports. Typst is
a typesetting language, not a general one: a template cannot run a program, open the network or
read a file outside the folder it is given. Compilation is confined to an empty folder (or one that
holds only the PDFs a case file embeds) so a template can read nothing else on the server, and
package imports (``@preview/…``) are refused at deploy: the server would fetch them from the web.

Every template is compiled with its example at deploy; one that fails is refused with its file and
line. The fonts are Noto Serif SC and Noto Sans SC (SIL OFL), installed with the project's Python
packages; system fonts are ignored, so a document typesets the same on every machine, and Typst
embeds only the glyphs used (subset fonts).
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Iterable, Iterator

from .errors import ValidationIssue

TEMPLATE_SUFFIX = ".typ"
META_SUFFIX = ".document.json"
INPUT_KEY = "input"  # the template reads its data as json(bytes(sys.inputs.input))

META_SCHEMA = {
    "type": "object",
    "required": ["title", "number_word", "example"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 100},
        "number_word": {"type": "string", "minLength": 1, "maxLength": 4,
                        "description": "the 字 of the document number: 麻城〔2026〕调字第0012号"},
        "issuer": {"type": "string", "maxLength": 40, "description": "appended to the issuing unit's name"},
        "repeatable": {"type": "boolean", "description": "each issue is a new document (records per session)"},
        "case_status": {"type": "array", "items": {"type": "string"},
                        "description": "the case statuses in which it may be issued (default: any)"},
        "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "example": {"type": "object"},
    },
}
_IMPORT = re.compile(r'\b(?:import|include)\s+"([^"]+)"')
_DIAGNOSTIC_AT = re.compile(r"┌─\s*(\S+?):(\d+):(\d+)")


class TypesetError(Exception):
    """Typst refused the template or its data; ``file`` and ``line`` say where."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line


def is_template_file(name: str) -> bool:
    return name.endswith(TEMPLATE_SUFFIX) or name.endswith(META_SUFFIX)


def template_key(name: str) -> str | None:
    base = PurePath(name).name
    return base[: -len(META_SUFFIX)] if base.endswith(META_SUFFIX) else None


@dataclass
class CompiledTemplate:
    key: str
    meta: dict[str, Any]
    files: dict[str, bytes]  # the main file, the libraries it imports, and its description

    @property
    def title(self) -> str:
        return self.meta["title"]

    @property
    def main(self) -> str:
        return f"{self.key}{TEMPLATE_SUFFIX}"

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{hashlib.sha256(self.files[name]).hexdigest()}\n".encode())
        return digest.hexdigest()


# -- typesetting ---------------------------------------------------------------------------------

def font_dirs() -> list[str]:
    import pylopdf_fonts_zh_cn  # Noto Serif SC and Noto Sans SC, SIL OFL 1.1

    return [str(Path(pylopdf_fonts_zh_cn.__file__).parent)]


class Typesetter:
    """One Typst compiler per process: it loads the fonts once (a first document takes ~40 ms, the
    next ones ~7). Typst's compiler is not re-entrant, so calls take turns."""

    def __init__(self) -> None:
        self._compiler = None
        self._lock = threading.Lock()
        self._empty = tempfile.mkdtemp(prefix="cunliao-typst-")

    def typeset(self, template: CompiledTemplate, data: dict[str, Any], assets: dict[str, bytes] | None = None,
                timestamp: float | None = None) -> bytes:
        """The PDF of ``template`` over ``data``. ``assets`` are binary files (PDFs, images) the template
        may read by name; they are the only files it can see."""
        import typst

        sources = {name: content for name, content in template.files.items() if name.endswith(TEMPLATE_SUFFIX)}
        sources["main"] = sources.pop(template.main)
        inputs = {INPUT_KEY: json.dumps(data, ensure_ascii=False)}
        with self._lock, _readable_root(self._empty, assets) as root:
            if self._compiler is None:
                self._compiler = typst.Compiler(font_paths=font_dirs(), ignore_system_fonts=True, root=self._empty)
            try:
                return self._compiler.compile(input=sources, root=root, sys_inputs=inputs, format="pdf",
                                              timestamp=int(timestamp) if timestamp is not None else None)
            except typst.TypstError as exc:
                raise _error(exc, template.main) from None


_shared: Typesetter | None = None


def shared_typesetter() -> Typesetter:
    """The process's typesetter (fonts loaded once for every registry and test in the process)."""
    global _shared
    if _shared is None:
        _shared = Typesetter()
    return _shared


@contextmanager
def _readable_root(empty: str, assets: dict[str, bytes] | None) -> Iterator[str]:
    """The folder a compilation may read: the shared empty one, or a fresh one holding ``assets``."""
    if not assets:
        yield empty
        return
    with tempfile.TemporaryDirectory(prefix="cunliao-assets-") as folder:
        for name, content in assets.items():
            (Path(folder) / PurePath(name).name).write_bytes(content)
        yield folder


def _error(exc, main: str) -> TypesetError:
    diagnostic = str(getattr(exc, "diagnostic", "") or "")
    where = _DIAGNOSTIC_AT.search(diagnostic)
    file, line = (where.group(1), int(where.group(2))) if where else (None, None)
    file = main if file in (None, "main") or file.endswith("/main") else PurePath(file).name
    message = getattr(exc, "message", None) or str(exc)
    hints = [h for h in (getattr(exc, "hints", None) or []) if h]
    return TypesetError(message + (f" ({'; '.join(hints)})" if hints else ""), file, line)


# -- validation at deploy ------------------------------------------------------------------------

@dataclass
class _Library:
    files: dict[str, bytes] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)

    def issue(self, file: str, message: str, line: int | None = None) -> None:
        self.issues.append(ValidationIssue(file, None, line, message))


def compile_templates(new_files: Iterable, deployed_files: Iterable, typesetter: Typesetter,
                      deployed_keys: Iterable[str] = ()) -> tuple[list[CompiledTemplate], list[ValidationIssue]]:
    """Check the templates among ``new_files`` (and the deployed ones that import a new library) and
    compile each with its example; returns the templates and every problem found."""
    library = _Library()
    new_names = set()
    for source in new_files:
        library.files[PurePath(source.name).name] = source.content
        new_names.add(PurePath(source.name).name)
    for source in deployed_files:
        library.files.setdefault(PurePath(source.name).name, source.content)
    keys = {template_key(n) for n in new_names if template_key(n)}
    keys |= {k for k in deployed_keys if any(n in new_names for n in _closure(library, f"{k}{TEMPLATE_SUFFIX}"))}
    templates = [t for t in (_compile_one(library, key, typesetter) for key in sorted(keys)) if t is not None]
    return templates, library.issues


def _compile_one(library: _Library, key: str, typesetter: Typesetter) -> CompiledTemplate | None:
    meta_name, main = f"{key}{META_SUFFIX}", f"{key}{TEMPLATE_SUFFIX}"
    meta = _meta(library, meta_name)
    if meta is None:
        return None
    if main not in library.files:
        library.issue(meta_name, f"the template {main} is neither in the bundle nor deployed")
        return None
    names = _closure(library, main)
    for name in names:
        for number, text in enumerate(library.files[name].decode("utf-8", "replace").splitlines(), start=1):
            if re.search(r"""(?:import|include)\s+"@""", text):
                library.issue(name, "packages (@preview/…) cannot be used: import only .typ files deployed "
                                    "with the templates", number)
                return None
    missing = [n for n in names if n not in library.files]
    if missing:
        library.issue(main, f"imports {', '.join(missing)}, which is neither in the bundle nor deployed")
        return None
    template = CompiledTemplate(key, meta, {n: library.files[n] for n in [*names, meta_name]})
    try:
        typesetter.typeset(template, meta["example"])
    except TypesetError as exc:
        library.issue(exc.file or main, f"does not compile with its example: {exc.message}", exc.line)
        return None
    return template


def _meta(library: _Library, name: str) -> dict[str, Any] | None:
    from jsonschema import Draft202012Validator

    try:
        meta = json.loads(library.files[name])
    except ValueError as exc:
        library.issue(name, f"not valid JSON: {exc}")
        return None
    problems = sorted(Draft202012Validator(META_SCHEMA).iter_errors(meta), key=lambda e: list(e.path))
    for problem in problems:
        where = "/".join(str(p) for p in problem.path) or "the description"
        library.issue(name, f"{where}: {problem.message}")
    return None if problems else meta


def _closure(library: _Library, main: str) -> list[str]:
    """``main`` and the .typ files it imports or includes, transitively (a missing one is listed too)."""
    seen: list[str] = []
    queue = [main]
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.append(name)
        text = library.files.get(name, b"").decode("utf-8", "replace")
        for imported in _IMPORT.findall(text):
            if imported.endswith(TEMPLATE_SUFFIX) and not imported.startswith("@"):
                queue.append(PurePath(imported).name)
    return seen

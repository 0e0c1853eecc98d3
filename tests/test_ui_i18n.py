"""Chinese is the UI's first language: every message the pages can show has its Chinese text."""
from __future__ import annotations

import re
from pathlib import Path

from web.i18n import merged_catalog

WEB = Path(__file__).resolve().parent.parent / "web"
PATTERNS = {
    ".html": [re.compile(r"""\b_\(\s*'((?:[^'\\]|\\.)+)'"""), re.compile(r'''\b_\(\s*"((?:[^"\\]|\\.)+)"''')],
    ".js": [re.compile(r"""(?<![\w.])t\(\s*'((?:[^'\\]|\\.)+)'"""), re.compile(r'''(?<![\w.])t\(\s*"((?:[^"\\]|\\.)+)"''')],
    ".jsx": [re.compile(r"""(?<![\w.])t\(\s*'((?:[^'\\]|\\.)+)'"""), re.compile(r'''(?<![\w.])t\(\s*"((?:[^"\\]|\\.)+)"''')],
    ".py": [re.compile(r'''\b_\(\s*"((?:[^"\\]|\\.)+)"''')],
}


def ui_messages() -> dict[str, str]:
    """Every literal message in templates, page scripts and page routes, with where it is used."""
    found = {}
    sources = [*WEB.glob("templates/**/*.html"), *WEB.glob("src/**/*.js"), *WEB.glob("src/**/*.jsx"),
               *WEB.glob("*.py")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for pattern in PATTERNS[path.suffix]:
            for match in pattern.finditer(text):
                message = match.group(1).replace("\\'", "'").replace('\\"', '"')
                found.setdefault(message, str(path.relative_to(WEB)))
    return found


def test_every_ui_message_has_chinese_text():
    chinese = {message.id for message in merged_catalog("zh_CN") if message.id}
    missing = {message: where for message, where in ui_messages().items() if message not in chinese}
    assert not missing, f"add these to a web/i18n/zh_CN/*.po file: {missing}"


def test_the_catalogue_is_not_empty_and_labels_are_chinese():
    catalog = {message.id: message.string for message in merged_catalog("zh_CN") if message.id}
    assert catalog["Inbox"] == "待办"
    assert len(ui_messages()) > 20

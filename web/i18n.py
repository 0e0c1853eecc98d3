"""Chinese first, English second (Flask-Babel).

Messages are written in English in templates (``_('Inbox')``) and scripts (``t('Inbox')``); the
Chinese texts live in ``web/i18n/zh_CN/*.po``, one file per screen so that screens can be worked on
apart. At start the .po files are merged and compiled into a private directory: there is no build
step to forget and no binary file in the repository.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, get_locale

SOURCES = Path(__file__).parent / "i18n"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "cunliao_lang"


def merged_catalog(locale: str) -> Catalog:
    catalog = Catalog(locale=locale, domain="messages")
    for path in sorted((SOURCES / locale).glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale=locale):
                if message.id and message.string:
                    catalog.add(message.id, message.string, context=message.context)
    return catalog


def compile_catalogs() -> tuple[str, dict[str, dict[str, str]]]:
    """Compile every locale's merged catalog; answer the directory and the message maps for scripts."""
    root = Path(tempfile.mkdtemp(prefix="cunliao-i18n-"))
    strings: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        if locale == "en":
            strings[locale] = {}
            continue
        catalog = merged_catalog(locale)
        # Babel names zh_CN "zh_Hans_CN" once parsed, and looks for that directory
        target = root / str(Locale.parse(locale)) / "LC_MESSAGES"
        target.mkdir(parents=True)
        with (target / "messages.mo").open("wb") as out:
            write_mo(out, catalog)
        strings[locale] = {m.id: m.string for m in catalog if m.id}
    return str(root), strings


def choose_locale() -> str:
    wanted = request.cookies.get(LANG_COOKIE, "")
    return wanted if wanted in LOCALES else DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    directory, strings = compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = directory
    app.extensions["cunliao_js_strings"] = strings
    Babel(app, default_locale=DEFAULT_LOCALE, default_timezone="Asia/Shanghai", locale_selector=choose_locale)


def current_language() -> str:
    """zh_CN or en, as the pages name them."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def script_strings(app: Flask) -> dict[str, str]:
    """The messages of the current locale, for ``t()`` in page scripts."""
    return app.extensions["cunliao_js_strings"].get(current_language(), {})

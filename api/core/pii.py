"""Personal data: ID numbers and phone numbers never rest in plain text.

Incoming case data is *sealed* after its form is validated and before the engine sees it: each
value of a personal field becomes ``{"$pii": kind, "enc": …, "hash": …, "masked": …}``, where
``enc`` is Fernet (AES-128 + HMAC) under ``PII_KEY`` and ``hash`` a keyed HMAC-SHA256 for finding
the same person across cases without decrypting. So the workflow state, the case data and the
audit log hold only sealed values. API answers show the masked form (``4211**********1234``);
roles that need the real value ask for it, and every such read is an audit event.

A field is personal by its name (``FIELDS``, the names every form here uses) or by declaration in
any deployed form: ``"format": "tel"`` or ``"format": "id-number"``, or ``"x-pii": "id_no" | "phone"
| "name"`` on a property. A declared name is sealed wherever it appears in case data, drafts,
messages and corrections (``declared_fields``). Free text cannot be sealed field by field, so
every answer and export passes through ``masked``, which also masks what looks like an ID number
or a mobile number inside any text (``mask_text``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select

from engine.audit import is_sealed
from engine.db import Database
from engine.definitions import SourceFile
from engine.models import DefinitionFile, DefinitionVersion

# Field names that carry personal data, wherever they appear in case data (nested too).
FIELDS = {"id_no": "id_no", "id_number": "id_no", "idcard": "id_no", "phone": "phone", "mobile": "phone",
          "contact_phone": "phone", "caller_phone": "phone"}
KINDS = ("id_no", "phone", "name")
FORMATS = {"tel": "phone", "phone": "phone", "id-number": "id_no"}
# A mainland resident ID number (18 characters, a real birth date inside) and a mobile number
# (11 digits from 13x to 19x, perhaps with +86 or separators), not inside a longer run of letters
# or digits (hashes, case numbers, ids).
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                       r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9A-Za-z])")
# Development only: `make run` in demo mode works without configuration. Production sets PII_KEY.
DEMO_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"cunliao-demo-pii-key").digest()).decode()
# Roles whose work needs the real numbers (contacting parties, identity checks, police hand-off).
UNMASK_ROLES = frozenset({"grid_worker", "village_mediator", "village_secretary", "town_officer", "town_director",
                          "justice_officer", "police_liaison", "city_officer", "city_director", "leader"})


class Vault:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        self._hash_key = hashlib.sha256(b"cunliao-pii-hash:" + key.encode()).digest()

    def identity_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, _normal(value).encode(), hashlib.sha256).hexdigest()

    def seal(self, data: Any, declared: dict[str, str] | None = None) -> Any:
        """Seal every personal field in ``data`` (dicts and lists, any depth): the ``FIELDS`` and the
        ``declared`` ones (name -> kind); the rest unchanged."""
        fields = {**FIELDS, **declared} if declared else FIELDS
        return self._seal(data, fields)

    def _seal(self, data: Any, fields: dict[str, str]) -> Any:
        if isinstance(data, dict) and not is_sealed(data):
            return {k: self._seal_value(fields[k], v) if k in fields and isinstance(v, (str, int)) and v != ""
                    else self._seal(v, fields) for k, v in data.items()}
        if isinstance(data, list):
            return [self._seal(item, fields) for item in data]
        return data

    def _seal_value(self, kind: str, value: str | int) -> dict[str, str]:
        text = _normal(str(value))
        return {"$pii": kind, "enc": self._fernet.encrypt(text.encode()).decode(), "hash": self.identity_hash(text),
                "masked": mask(kind, text)}

    def unseal(self, data: Any) -> Any:
        if is_sealed(data):
            try:
                return self._fernet.decrypt(data["enc"].encode()).decode()
            except InvalidToken:
                return "〔无法解密：密钥不符〕"
        if isinstance(data, dict):
            return {k: self.unseal(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.unseal(item) for item in data]
        return data


def masked(data: Any) -> Any:
    """The data as answers and exports show it: sealed values replaced by their masked form, and
    ID numbers and mobile numbers inside text masked too."""
    if is_sealed(data):
        return data.get("masked", "***")
    if isinstance(data, dict):
        return {k: masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(item) for item in data]
    if isinstance(data, str):
        return mask_text(data)
    return data


def mask_text(text: str) -> str:
    """``张三 13812345678`` -> ``张三 138****5678``; the same for ID numbers in any text."""
    if len(text) < 11:
        return text
    text = ID_NUMBER.sub(lambda m: mask("id_no", m[0]), text)
    return MOBILE.sub(lambda m: _mask_mobile(m[0]), text)


def _mask_mobile(found: str) -> str:
    digits = re.sub(r"[^0-9]", "", found)[-11:]
    return mask("phone", digits)


def declared_fields(schema: Any) -> dict[str, str]:
    """Property names a form declares personal (``x-pii`` or a personal ``format``), at any depth:
    {name: kind}."""
    found: dict[str, str] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                kind = _declared_kind(prop)
                if kind:
                    found[name] = kind
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return found


def _declared_kind(prop: Any) -> str | None:
    if not isinstance(prop, dict):
        return None
    if prop.get("x-pii") in KINDS:
        return prop["x-pii"]
    return FORMATS.get(prop.get("format")) if isinstance(prop.get("format"), str) else None


def sealed_fields(data: Any, path: str = "") -> list[str]:
    """Paths of the sealed values in ``data`` (what an unmask read reveals, for its audit record)."""
    if is_sealed(data):
        return [path or "$"]
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in sealed_fields(v, f"{path}.{k}" if path else k)]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in sealed_fields(v, f"{path}.{i}")]
    return []


def mask(kind: str, text: str) -> str:
    if kind == "id_no" and len(text) >= 8:
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    if kind == "phone" and len(text) >= 7:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    if kind == "name" and len(text) >= 2:
        return text[0] + "*" * (len(text) - 1)
    return "*" * len(text)


def _normal(text: str) -> str:
    return "".join(text.split()).upper()


_NEWEST_VERSION = select(func.max(DefinitionVersion.id))


class DeclaredFields:
    """The personal fields the deployed forms declare ({name: kind}), kept per process (one per
    ``Services``) and re-read when a definition version is added (by this process or another: one
    indexed query per use, or none when the caller read the newest version id already)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen = 0
        self._fields: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, newest: int | None = None) -> dict[str, str]:
        """``newest``: the newest definition version id, if the caller has just read it (a task
        completion reads it with the case); otherwise one indexed query asks."""
        if newest is None:  # a prebuilt Core statement on a bare connection, no ORM session
            with self.db.read_engine.connect() as conn:
                newest = conn.execute(_NEWEST_VERSION).scalar()
        newest = newest or 0
        if newest <= self._seen:
            return self._fields
        with self._lock:
            if newest > self._seen:
                self._load()
        return self._fields

    def _load(self) -> None:
        """Add the forms of the versions deployed since the last load: the versions' file lists,
        then every new form's content in one query, whatever the number of forms."""
        with self.db.read_engine.connect() as conn:
            versions = conn.execute(select(DefinitionVersion.id, DefinitionVersion.files)
                                    .where(DefinitionVersion.id > self._seen)).all()
            forms = {ref["sha256"] for _, files in versions for ref in files
                     if SourceFile(ref["name"], b"").kind == "form"}
            contents = conn.execute(select(DefinitionFile.content).where(DefinitionFile.sha256.in_(forms))
                                    .order_by(DefinitionFile.sha256)).scalars().all() if forms else []
        fields = dict(self._fields)
        for content in contents:
            fields.update(declared_fields(json.loads(content)))
        self._fields = fields
        self._seen = max([self._seen, *(version_id for version_id, _ in versions)])

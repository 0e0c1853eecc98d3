"""Personal data: ID numbers and phone numbers never rest in plain text.

Incoming case data is *sealed* after its form is validated and before the engine sees it: each
value of a personal field becomes ``{"$pii": kind, "enc": …, "hash": …, "masked": …}``, where
``enc`` is Fernet (AES-128 + HMAC) under ``PII_KEY`` and ``hash`` a keyed HMAC-SHA256 for finding
the same person across cases without decrypting. So the workflow state, the case data and the
audit log hold only sealed values. API answers show the masked form (``4211**********1234``);
roles that need the real value ask for it, and every such read is an audit event.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

# Field names that carry personal data, wherever they appear in case data (nested too).
FIELDS = {"id_no": "id_no", "id_number": "id_no", "idcard": "id_no", "phone": "phone", "mobile": "phone",
          "contact_phone": "phone", "caller_phone": "phone"}
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

    def seal(self, data: Any) -> Any:
        """Seal every personal field in ``data`` (dicts and lists, any depth); the rest unchanged."""
        if isinstance(data, dict):
            return {k: self._seal_value(FIELDS[k], v) if k in FIELDS and isinstance(v, (str, int)) and v != ""
                    else self.seal(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.seal(item) for item in data]
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


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "$pii" in value and "enc" in value


def masked(data: Any) -> Any:
    """The data as API answers show it: sealed values replaced by their masked form."""
    if is_sealed(data):
        return data.get("masked", "***")
    if isinstance(data, dict):
        return {k: masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(item) for item in data]
    return data


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
    return "*" * len(text)


def _normal(text: str) -> str:
    return "".join(text.split()).upper()

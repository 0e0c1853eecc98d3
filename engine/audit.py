"""The per-case event log and its hash chain.

Each event is hashed over the previous event's hash and the canonical JSON of its own fields, so
changing, dropping or reordering any event breaks every hash after it. The case row keeps the head.

A sealed value (``{"$pii": kind, "enc": …, "hash": …}``, written by the app's ``seal``) enters the
hash by its *commitment*: its kind, its keyed hash and the SHA-256 of the whole sealed value. So an
audit bundle can carry the commitment instead of the ciphertext and still verify, and the
ciphertext in the database is as bound to its event as any other field.

The **state seal**: the last event each transaction writes carries ``state_sha256``, the hash of
the case row as that transaction commits it (``state_seal``). The seal is in the payload, so the
chain covers it: a sweep that checks the chains and compares each case's last seal with its row
proves the stored state is the one the last command wrote, without replaying (``engine/sweep.py``).
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from .models import Case, CaseEvent

GENESIS = "0" * 64
SEAL_KEY = "state_sha256"
_SEALED_KEY = b'"$pii"'   # how a sealed value's key appears in canonical JSON


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Plain JSON types only: what is logged must hash the same on every machine."""
    if type(value) in _PLAIN:  # most values: no isinstance chain
        return value
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "$pii" in value and "enc" in value


def committed(value: Any) -> Any:
    """``value`` with every sealed value replaced by its commitment; idempotent."""
    if is_sealed(value):
        return {"$pii": value["$pii"], "hash": value.get("hash"), "seal": hashlib.sha256(canonical(value)).hexdigest()}
    if isinstance(value, dict):
        return {k: committed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [committed(v) for v in value]
    return value


def event_hash(prev_hash: str, case_id: int, seq: int, type_: str, actor: str, at: datetime,
               payload: dict[str, Any], *, legacy: bool = False) -> str:
    """The event's hash; ``legacy``: as events written before sealed values were committed were
    hashed (over the sealed values themselves), which verification still accepts for them."""
    body = {"case_id": case_id, "seq": seq, "type": type_, "actor": actor, "at": at.isoformat(), "payload": payload}
    text = canonical(body)
    if not legacy and _SEALED_KEY in text:  # walking the payload for sealed values costs more than this look
        text = canonical({**body, "payload": committed(payload)})
    return hashlib.sha256(prev_hash.encode() + text).hexdigest()


def may_be_sealed(payload: dict[str, Any]) -> bool:
    """Whether the payload may hold a sealed value (only then can its legacy hash differ)."""
    return _SEALED_KEY in canonical(payload)


def state_seal(definition_id: int, status: str, data: Any, incident: Any, state: str | None) -> str:
    """The hash of a case row's workflow-bearing columns; ``state`` enters by its own SHA-256."""
    state_digest = hashlib.sha256((state or "").encode()).hexdigest()
    # data is plain JSON already (the engine stores it so; read back, it is JSON): no jsonable walk
    return hashlib.sha256(canonical({"definition_id": definition_id, "status": status, "data": data,
                                     "incident": jsonable(incident), "state": state_digest})).hexdigest()


def case_seal(case: Case) -> str:
    return state_seal(case.definition_id, case.status, case.data, case.incident, case.state)


def append(session: Session, case: Case, type_: str, actor: str, at: datetime,
           payload: dict[str, Any]) -> CaseEvent:
    payload = jsonable(payload)
    seq = case.event_seq + 1
    prev = case.chain_head or GENESIS
    digest = event_hash(prev, case.id, seq, type_, actor, at, payload)
    event = CaseEvent(case_id=case.id, seq=seq, type=type_, actor=actor, at=at, payload=payload,
                      prev_hash=prev, hash=digest)
    session.add(event)
    case.event_seq = seq
    case.chain_head = digest
    return event

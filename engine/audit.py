"""The per-case event log and its hash chain.

Each event is hashed over the previous event's hash and the canonical JSON of its own fields, so
changing, dropping or reordering any event breaks every hash after it. The case row keeps the head.
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


def jsonable(value: Any) -> Any:
    """Plain JSON types only: what is logged must hash the same on every machine."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
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


def event_hash(prev_hash: str, case_id: int, seq: int, type_: str, actor: str, at: datetime,
               payload: dict[str, Any]) -> str:
    body = {"case_id": case_id, "seq": seq, "type": type_, "actor": actor, "at": at.isoformat(),
            "payload": payload}
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


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

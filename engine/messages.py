"""Messages: delivering one to the case waiting for it, starting a case on it, and the outbox of
messages thrown by cases.

Every delivery happens once. Its idempotency key (the caller's, or ``outbox:<id>`` for a thrown
message) is claimed in the same transaction that changes or starts the receiving case, so of two
deliverers racing with one key the second writes nothing (AlreadyDone, or a stale version) and
answers what the first stored. Thrown messages are delivered right after the sender's commit and
again by the worker until settled: delivered, or undeliverable (a dead letter, listed for admins).
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import clock, runtime, steps
from .errors import Conflict, InvalidData, NotFound, Stale
from .models import Case, MessageOutbox, MessageReceipt, MessageWait
from .steps import OPEN_STATUSES, checked_data
from .store import NewEvent

log = logging.getLogger(__name__)

# Deliveries that meet a case changed in between read it again, this many times in all.
STALE_ATTEMPTS = 3
MAX_DISPATCH_DEPTH = 5
_dispatching = threading.local()


class MessageCommands:
    """Mixed into CaseService; uses its snapshot/change/commit plumbing."""

    def deliver_message(self, name: str, correlation: dict[str, Any], payload: dict[str, Any],
                        idempotency_key: str, actor: str, within: str = "",
                        start_in: str | None = None) -> list:
        """Deliver to the one open case (under the ``within`` jurisdiction) waiting for ``name``;
        if none waits and a process starts on that message, start a case of it (in the payload's
        ``jurisdiction``, else ``start_in``, else ``within``) — unless the correlation names its
        case (``case_no``): such a message is for that case only. A repeated idempotency key,
        at the same time or later, returns the first answer and changes nothing."""
        payload = self.seal(checked_data(payload))
        attempt = 1
        while True:
            try:
                return self._deliver_once(name, correlation, payload, idempotency_key, actor, within, start_in)
            except (NotFound, Conflict) as exc:
                # Losing a race with a request of the same key ends in whatever the winner's commit
                # left behind (the case no longer waits, its version moved, the key is taken): the
                # winner's answer is this request's answer too.
                receipt = self._receipt(idempotency_key)
                if receipt is not None:
                    return self._replayed_receipt(receipt, name, idempotency_key)
                if not isinstance(exc, Stale) or attempt >= STALE_ATTEMPTS:
                    raise
                attempt += 1

    def dispatch_outbox(self, limit: int = 50) -> int:
        """Deliver messages thrown by cases that are not settled yet (the worker's round)."""
        with self.db.read() as session:
            pending = list(session.scalars(select(MessageOutbox).where(MessageOutbox.settled_at.is_(None))
                                           .order_by(MessageOutbox.id).limit(limit)))
        for message in pending:
            self.dispatch_one(message)
        return len(pending)

    def dispatch_one(self, message: MessageOutbox) -> None:
        """Deliver one thrown message and settle its row. Any number of processes may do this for
        one row at once: the delivery's key is the row, so it lands once, and every one of them
        settles the row with the same outcome."""
        with self.db.read() as session:
            sender = session.get(Case, message.sender_case_id)
        try:
            views = self.deliver_message(message.name, message.correlation, message.payload, f"outbox:{message.id}",
                                         f"case:{sender.case_no}", start_in=sender.jurisdiction)
            state, outcome = "delivered", f"delivered to {', '.join(v.case.case_no for v in views)}"
        except Stale:
            return  # the receiver kept changing: the worker's next round tries again
        except (NotFound, Conflict, InvalidData) as exc:
            state, outcome = "undeliverable", exc.message[:400]
            log.info("message %s from %s is undeliverable: %s", message.name, sender.case_no, outcome)
        with self.db.write_engine.begin() as conn:
            conn.execute(update(MessageOutbox).where(MessageOutbox.id == message.id, MessageOutbox.settled_at.is_(None))
                         .values(settled_at=self.clock.now(), outcome=outcome, state=state))

    def dead_letters(self, within: str = "", limit: int = 100, before_id: int | None = None) -> list[MessageOutbox]:
        """Thrown messages that reached no case, newest first (senders under ``within``)."""
        query = (select(MessageOutbox).join(Case, Case.id == MessageOutbox.sender_case_id)
                 .where(MessageOutbox.state == "undeliverable").order_by(MessageOutbox.id.desc()).limit(limit))
        if within:
            query = query.where(Case.jurisdiction.startswith(within, autoescape=True))
        if before_id is not None:
            query = query.where(MessageOutbox.id < before_id)
        with self.db.read() as session:
            rows = list(session.scalars(query))
            session.expunge_all()
        return rows

    # -- after a command's commit ----------------------------------------------------------------

    def _dispatch_after_commit(self, outbox_ids: list[int]) -> None:
        """Deliver the messages a command just threw. The command has committed, so nothing that
        happens here is its outcome: a failure is logged and the worker delivers the rest."""
        depth = getattr(_dispatching, "depth", 0)
        if not outbox_ids or depth >= MAX_DISPATCH_DEPTH:
            # A chain of messages several cases deep (two processes answering each other): the
            # worker carries on, round by round.
            return
        _dispatching.depth = depth + 1
        try:
            with self.db.read() as session:
                messages = list(session.scalars(select(MessageOutbox).where(
                    MessageOutbox.id.in_(outbox_ids), MessageOutbox.settled_at.is_(None)).order_by(MessageOutbox.id)))
            for message in messages:
                self.dispatch_one(message)
        except Exception:  # noqa: BLE001 (see the docstring: the answer must stay the command's)
            log.warning("delivering thrown messages %s right after their commit failed; the worker will",
                        outbox_ids, exc_info=True)
        finally:
            _dispatching.depth = depth

    # -- one delivery ----------------------------------------------------------------------------

    def _deliver_once(self, name: str, correlation: dict[str, Any], payload: dict[str, Any], key: str, actor: str,
                      within: str, start_in: str | None) -> list:
        receipt = self._receipt(key)
        if receipt is not None:
            return self._replayed_receipt(receipt, name, key)
        with self.db.read() as session:
            try:
                case_id, starter = self._receiver(session, name, correlation, within).id, None
            except NotFound:
                starter = None if correlation.get("case_no") else self._message_starter(session, name)
                if starter is None:
                    raise
                case_id = None
        if case_id is not None:
            return [self._deliver(case_id, name, correlation, payload, actor, key)]
        jurisdiction = str(payload.get("jurisdiction") or (start_in if start_in is not None else within))
        receipt_row = {"idempotency_key": key, "name": name, "received_at": self.clock.now()}
        return [self._start(starter, payload, actor, jurisdiction, message=name, receipt=receipt_row)]

    def _receipt(self, key: str) -> MessageReceipt | None:
        with self.db.read() as session:
            receipt = session.get(MessageReceipt, key)
            if receipt is not None:
                session.expunge(receipt)
            return receipt

    def _receiver(self, session: Session, name: str, correlation: dict[str, Any], within: str = "") -> Case:
        query = (select(Case).join(MessageWait, MessageWait.case_id == Case.id)
                 .where(MessageWait.name == name, Case.status.in_(OPEN_STATUSES)).distinct())
        if within:
            query = query.where(Case.jurisdiction.startswith(within, autoescape=True))
        if "case_no" in correlation:
            query = query.where(Case.case_no == str(correlation["case_no"]))
        matches = [case for case in session.scalars(query) if _correlates(case, correlation)]
        if not matches:
            raise NotFound(f"no open case is waiting for message '{name}' with correlation "
                           f"{json.dumps(correlation, ensure_ascii=False)}")
        if len(matches) > 1:
            raise Conflict(f"{len(matches)} cases wait for message '{name}' with this correlation; "
                           "give a correlation that names one case (e.g. case_no)")
        return matches[0]

    def _deliver(self, case_id: int, name: str, correlation: dict[str, Any], payload: dict[str, Any],
                 actor: str, idempotency_key: str):
        now = self.clock.now()
        with self.db.read() as session:
            snapshot = self._snapshot(session, case_id)
        if snapshot.case.status not in OPEN_STATUSES:
            raise Conflict(f"case {snapshot.case.case_no} is {snapshot.case.status}; it takes no messages",
                           case_status=snapshot.case.status)
        events, fired_incident = self._fire_due_timers_first(snapshot, now)
        waiting = runtime.waiting_for(snapshot.workflow, name)
        if not waiting:
            raise Conflict(f"case {snapshot.case.case_no} is no longer waiting for message '{name}'")
        events.append(NewEvent("message_delivered", actor, now, {"name": name, "correlation": correlation,
                                                                  "payload": payload}))
        with clock.pinned(now):
            incident = steps.deliver(snapshot.workflow, waiting[0], name, payload) or fired_incident
        change = self._change(snapshot, incident, now, actor, events=events)
        change.receipt = {"idempotency_key": idempotency_key, "name": name, "received_at": now}
        return self._commit(change, snapshot)

    def _message_starter(self, session: Session, name: str) -> str | None:
        """The one deployed process with a message start event for ``name``, if any."""
        keys = [v.process_key for v in self.registry.latest_versions(session)
                if name in runtime.message_start_names(self.registry.load(session, v.id).spec)]
        if len(keys) > 1:
            raise Conflict(f"several processes start on message '{name}': {', '.join(keys)}")
        return keys[0] if keys else None

    def _replayed_receipt(self, receipt: MessageReceipt, name: str, key: str) -> list:
        if receipt.name != name:
            raise Conflict(f"idempotency key '{key}' was already used for message '{receipt.name}'")
        return [self.view(case_id) for case_id in receipt.case_ids]


def _correlates(case: Case, correlation: dict[str, Any]) -> bool:
    known = dict(case.data or {})
    known.update({"case_no": case.case_no, "case_id": case.id})
    return all(known.get(key) == value or str(known.get(key)) == str(value) for key, value in correlation.items())


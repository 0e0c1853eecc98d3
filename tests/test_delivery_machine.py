"""Interleavings, generated: hypothesis drives leads that convert (each throwing a message that
starts a case), deadline cases with a reminder timer, deliverers that act late on a row they read
earlier, two timer workers, a worker that dies holding claims, completions and time passing; then
checks that each lead started exactly one case, no timer fired twice, every thrown message
settled as delivered, and every case's audit chain verifies and replays.

``DELIVERY_EXAMPLES`` sets how many interleavings run (a handful in ``make test``)."""
from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from engine.cases import CaseService
from engine.models import Case, CaseEvent, CaseTask, MessageOutbox
from engine.timers import TIMER_LEASE
from engine.verify import verify_in_db

from .conftest import deploy

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
EXAMPLES = int(os.environ.get("DELIVERY_EXAMPLES", "15"))
_examples = itertools.count()


def machine(svc, clock, deliver_now):
    class Deliveries(RuleBasedStateMachine):
        rows = Bundle("rows")
        cases = Bundle("cases")

        @initialize()
        def begin(self):
            self.prefix = f"x{next(_examples)}"
            self.leads: list[str] = []
            self.case_ids: list[int] = []

        @rule(target=rows)
        def start_a_lead(self):
            ref = f"{self.prefix}-{len(self.leads)}"
            view = svc.cases.start("t_convert", {"summary": "线索", "source_ref": ref}, "grid", VILLAGE)
            self.leads.append(ref)
            self.case_ids.append(view.case.id)
            with svc.db.read() as session:  # as a deliverer reads it, maybe to act on it much later
                return session.scalars(select(MessageOutbox).where(MessageOutbox.sender_case_id == view.case.id)).one()

        @rule(row=rows, via=st.sampled_from(["web", "worker"]))
        def deliver(self, row, via):
            if via == "web":
                deliver_now(svc.cases, [row.id])
            else:
                svc.cases.dispatch_one(row)

        @rule(target=cases)
        def start_a_deadline(self):
            view = svc.cases.start("t_reminder", {}, "tester", VILLAGE)
            self.case_ids.append(view.case.id)
            return view.case.id

        @rule(case_id=cases)
        def complete_a_ready_task(self, case_id):
            with svc.db.read() as session:
                task = session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                       .order_by(CaseTask.created_at)).first()
            if task is not None:
                svc.cases.complete_task(task.id, {}, "mediator")

        @rule(minutes=st.integers(min_value=1, max_value=90))
        def time_passes(self, minutes):
            clock.advance(minutes=minutes)

        @rule(worker=st.sampled_from(["A", "B"]))
        def a_worker_fires(self, worker):
            svc.cases.fire_due_timers(worker)

        @rule()
        def a_worker_claims_and_dies(self):
            svc.cases._claim_timers(clock.now(), "killed", 50)

        @invariant()
        def no_lead_started_two_cases(self):
            with svc.db.read() as session:
                refs = list(session.scalars(select(Case.data["source_ref"].as_string()).where(
                    Case.process_key == "t_lead_start", Case.data["source_ref"].as_string().startswith(self.prefix))))
            assert len(refs) == len(set(refs))

        def teardown(self):
            # Whatever is left: the dead worker's leases lapse, the worker delivers and fires.
            clock.advance(TIMER_LEASE + timedelta(seconds=1))
            svc.cases.dispatch_outbox(limit=1000)
            svc.cases.fire_due_timers("final", limit=1000)
            with svc.db.read() as session:
                started = list(session.scalars(select(Case.data["source_ref"].as_string()).where(
                    Case.process_key == "t_lead_start", Case.data["source_ref"].as_string().startswith(self.prefix))))
                assert sorted(started) == sorted(self.leads)
                states = select(MessageOutbox.state).where(MessageOutbox.sender_case_id.in_(self.case_ids))
                assert set(session.scalars(states)) <= {"delivered"}
                for case_id in self.case_ids:
                    fired = [tuple(sorted(t["element_id"] for t in e.payload["timers"])) for e in session.scalars(
                        select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == "timer_fired"))]
                    assert len(fired) == len(set(fired)) <= 1, fired
                    verdict = verify_in_db(session, svc.registry, svc.cases.script_engine, session.get(Case, case_id))
                    assert verdict.ok, verdict.as_dict()

    return Deliveries


@pytest.mark.usefixtures("verify_all_cases")
def test_interleaved_deliveries_timers_and_completions_keep_every_invariant(svc, clock, monkeypatch):
    deploy(svc, "t_convert.bpmn", "t_lead_start.bpmn", "t_reminder.bpmn")
    deliver_now = CaseService._dispatch_after_commit
    monkeypatch.setattr(CaseService, "_dispatch_after_commit", lambda self, ids: None)  # the machine delivers
    run_state_machine_as_test(machine(svc, clock, deliver_now), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))

"""The demo month's cases: each one started and moved on by the engine on the bundled processes, task
by task, as the role that owns the task, on a clock that walks through the month. A plan says where
a case stops (a step left open for someone's inbox, a timer still to run, or the end), so the demo
holds cases in every state; answers steer the process the way a real case would go (a red risk goes
to the city and a leader, a relief matter is whistled to 民政局 …)."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.core.models import OrgUnit, Role, User, UserRole
from engine.clock import CHINA
from engine.models import Case, CaseTask, PendingTimer

OPEN = ("active", "waiting")


@dataclass
class Plan:
    """One demo case: where it starts, what its people answer, where it stops."""
    kind: str                          # a label for the summary ("mediating", "whistled" …)
    process: str
    grid: str                          # the grid unit's code: the case's jurisdiction
    title: str
    answers: dict[str, Any]            # merged into every form that has the field (None: left empty)
    stop_at: frozenset[str] = frozenset()   # leave the case when one of these steps is ready
    steps: int | None = None           # or after this many completed steps
    then: str | None = None            # "cancel" or "suspend" once it stops
    registrar: str = "grid_worker"     # who starts it: a village_mediator starts it in the grid's village


class Driver:
    """Moves one case at a time; ``clock`` is the demo's FakeClock, ``until`` the real now."""

    def __init__(self, svc, clock, rng: random.Random, until: datetime, forms: dict[str, dict]):
        self.svc, self.clock, self.rng, self.until, self.forms = svc, clock, rng, until, forms
        self.units: dict[str, OrgUnit] = {}
        self.holders: list[tuple[str, str, str]] = []   # (role, unit path, username)
        with svc.db.read() as session:
            self.units = {u.code: u for u in session.scalars(select(OrgUnit))}
            self.units_by_path = {u.path: u for u in self.units.values()}
            rows = session.execute(select(UserRole.role_code, OrgUnit.path, User.username)
                                   .join(User, User.id == UserRole.user_id).join(OrgUnit, OrgUnit.id == User.unit_id)
                                   .where(User.active.is_(True)).order_by(User.id))
            self.holders = [tuple(r) for r in rows]
            self.role_names = {r.code: r.name_zh for r in session.scalars(select(Role))}

    # -- people -------------------------------------------------------------------------------

    def actor(self, role: str | None, jurisdiction: str) -> str:
        """The demo user who would do a step: the role's holder nearest above the step's unit, else one
        within it (a step offered to a town reaches its 司法所: docs/assignment.md), else the role's name."""
        fitting = [(len(path), name) for code, path, name in self.holders
                   if code == role and jurisdiction.startswith(path)]
        within = sorted((len(path), name) for code, path, name in self.holders
                        if code == role and path.startswith(jurisdiction))
        if fitting or within:
            return max(fitting)[1] if fitting else within[0][1]
        return self.role_names.get(role or "", role or "system")

    # -- one case -----------------------------------------------------------------------------

    def run(self, plan: Plan, start: datetime) -> Case:
        self.clock.set(start)
        self.svc.cases.fire_due_timers()
        unit = self.units[plan.grid]
        if plan.registrar == "village_mediator":
            unit = self.units_by_path[unit.path.rsplit("/", 2)[0] + "/"]
        creator = self.actor(plan.registrar, unit.path)
        # start_level as POST /api/v1/cases records it: the level of the area the case starts in
        view = self.svc.cases.start(plan.process, {"start_level": unit.kind}, creator, unit.path, plan.title)
        case_id, done = view.case.id, 0
        for _ in range(80):
            case = self.case(case_id)
            if case.status not in OPEN or (plan.steps is not None and done >= plan.steps):
                break
            tasks = self.ready(case_id)
            if any(t.element_id in plan.stop_at for t in tasks):
                break
            if not tasks:
                if not self.next_timer(case_id):
                    break
                continue
            if not self.tick(hours=self.rng.uniform(0.5, 6)):
                break
            tasks = self.ready(case_id)  # a timer may have fired while the hours passed
            if tasks and not any(t.element_id in plan.stop_at for t in tasks):
                self.complete(tasks[0], case, plan)
                done += 1
        if plan.then and self.case(case_id).status in OPEN:
            self.tick(hours=self.rng.uniform(1, 8))
            who = self.actor("town_officer", unit.path)
            if plan.then == "cancel":
                self.svc.cases.cancel(case_id, who, "当事人撤回申请，双方已自行和解")
            else:
                self.svc.cases.suspend(case_id, who, "当事人外出务工，待其返乡后继续调解")
        return self.case(case_id)

    def complete(self, task: CaseTask, case: Case, plan: Plan) -> None:
        data = self.payload(task.form_key, plan, case)
        self.svc.cases.complete_task(task.id, data, self.actor(task.role, task.jurisdiction or case.jurisdiction))

    def payload(self, form_key: str | None, plan: Plan, case: Case) -> dict[str, Any]:
        """The form's own example, with this case's answers and today's dates."""
        if not form_key or form_key not in self.forms:
            return {}
        schema = self.forms[form_key]
        data = dict((schema.get("examples") or [{}])[0])
        properties = schema.get("properties", {})
        for name, value in plan.answers.items():
            if name not in properties:
                continue
            if value is None:  # leave the field empty: the process takes its own suggestion
                data.pop(name, None)
            else:
                data[name] = value
        today = self.clock.now().astimezone(CHINA)
        for name, prop in properties.items():
            if name not in data:
                continue
            if prop.get("format") == "date":
                ahead = 14 if any(w in name for w in ("target", "deadline", "due", "until")) else 0
                data[name] = (today.date() + timedelta(days=ahead)).isoformat()
            elif prop.get("format") == "date-time":
                data[name] = today.replace(microsecond=0).isoformat()
        if "title" in properties and "title" in data:
            data["title"] = case.title or data["title"]
        return data

    # -- time ---------------------------------------------------------------------------------

    def tick(self, **delta: float) -> bool:
        """Let time pass (firing what falls due); False when that would run past the real now."""
        target = self.clock.now() + timedelta(**delta)
        if target >= self.until:
            return False
        self.clock.set(target)
        self.svc.cases.fire_due_timers()
        return True

    def next_timer(self, case_id: int) -> bool:
        with self.svc.db.read() as session:
            due = session.scalar(select(PendingTimer.due_at).where(PendingTimer.case_id == case_id)
                                 .order_by(PendingTimer.due_at).limit(1))
        if due is None:
            return False
        due = due if due.tzinfo else due.replace(tzinfo=self.clock.now().tzinfo)
        if due + timedelta(seconds=1) >= self.until:
            return False  # the case waits on past the demo's end: a waiting case
        self.clock.set(max(self.clock.now(), due + timedelta(seconds=1)))
        self.svc.cases.fire_due_timers()
        return True

    # -- reading ------------------------------------------------------------------------------

    def case(self, case_id: int) -> Case:
        with self.svc.db.read() as session:
            return session.get(Case, case_id)

    def ready(self, case_id: int) -> list[CaseTask]:
        with self.svc.db.read() as session:
            return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                                        .order_by(CaseTask.created_at, CaseTask.id)))


def load_forms(forms_dir) -> dict[str, dict]:
    return {p.name[:-len(".schema.json")]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(forms_dir.glob("*.schema.json"))}

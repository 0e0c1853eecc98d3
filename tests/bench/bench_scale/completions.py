"""Task completion in the scale benchmark: which ready tasks to complete, as whom and with what data,
shared by the HTTP figure (``measure.py``) and the in-process profile (``profile_completions.py``).

The bench runs no timer worker, and the city was built on a clock that stopped when the build
ended: deadline timers of open cases have fallen due since. A deployment's worker would have fired
them; a completion landing on such a case fires them first and often finds its task gone (409).
So the due timers are fired before any task is picked (``fire_due_timers``), as the worker would."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import func, select

from api.core.models import OrgUnit, User, UserRole
from engine.clock import CHINA
from engine.models import Case, CaseTask, PendingTimer
from engine.steps import OPEN_STATUSES

WORKER_ID = "bench-scale"
GRID_WORKER, GRID = "grid", "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
FIRE_BATCH = 200
FIRE_ROUNDS = 1000  # a bound, not a goal: each round claims up to FIRE_BATCH cases
# Fields whose choices depend on the case (departments, people): a form's example cannot fill them;
# a step that needs an issued document (签署协议) is left out the same way.
PICKED = {"co_depts", "lead_dept", "assignee", "documents"}


@dataclass(frozen=True)
class Completion:
    user: str
    role: str
    case_id: int
    task_id: str
    data: dict

    def call(self) -> tuple:
        """As ``measure.Client.timed`` takes it."""
        return self.user, "POST", f"/api/v1/tasks/{self.task_id}/complete", {"data": self.data}


def fire_due_timers(svc) -> int:
    """Fire every timer due by now with the engine's own firing (what ``cunliao worker`` does);
    returns how many timer rows were due."""
    due = (select(func.count()).select_from(PendingTimer).join(Case, Case.id == PendingTimer.case_id)
           .where(PendingTimer.due_at < svc.clock.now(), Case.status.in_(OPEN_STATUSES)))
    with svc.db.read() as session:
        count = session.scalar(due)
    for _ in range(FIRE_ROUNDS if count else 0):
        if svc.cases.fire_due_timers(WORKER_ID, limit=FIRE_BATCH) < FIRE_BATCH:
            break
    return count


def batches(svc, forms: dict[str, dict], count: int) -> Iterator[list[Completion]]:
    """``count`` completions in batches of one task per case (two completions of one case at once
    would race for it): once the caller has done a batch, the next is picked among the tasks ready
    then, the cases' next steps among them. A task tried once (done, or refused) is not picked
    again. A small city has few open cases (31 at BENCH_SCALE=0.01, some 20 steps to do): when
    nothing is left, new disputes are started (``start_disputes``, untimed) once."""
    tried: set[str] = set()
    topped_up = False
    while count > 0:
        batch = pick(svc, forms, count, tried)
        if not batch and not topped_up:
            start_disputes(svc, count)
            topped_up = True
            batch = pick(svc, forms, count, tried)
        if not batch:
            return
        tried |= {c.task_id for c in batch}
        count -= len(batch)
        yield batch


def start_disputes(svc, count: int) -> None:
    """``count`` disputes registered in the demo grid by its grid worker, as POST /api/v1/cases
    does (``start_level``), now."""
    for n in range(count):
        svc.cases.start("dispute_intake", {"start_level": "grid"}, GRID_WORKER, GRID, f"压测补充纠纷 {n + 1}")


def pick(svc, forms: dict[str, dict], count: int, tried: set[str] = frozenset()) -> list[Completion]:
    """Up to ``count`` ready tasks of open cases, newest first, one per case, for every role that has
    a holder at the task's unit (or above it, or within it): each with its form's example."""
    with svc.db.read() as session:
        holders = _holders(session)
        rows = session.execute(select(CaseTask.id, CaseTask.case_id, CaseTask.role, CaseTask.jurisdiction,
                                      CaseTask.form_key)
                               .join(Case, Case.id == CaseTask.case_id)
                               .where(CaseTask.state == "ready", Case.status.in_(OPEN_STATUSES),
                                      CaseTask.element_id != "sign", CaseTask.assignee.is_(None),
                                      CaseTask.form_key.is_not(None))
                               .order_by(CaseTask.created_at.desc(), CaseTask.id)
                               .limit((count + len(tried)) * 20)).all()
    picked, cases = [], set()
    for task_id, case_id, role, jurisdiction, form_key in rows:
        form = forms.get(form_key)
        user = _holder(holders, role, jurisdiction)
        if case_id in cases or task_id in tried or user is None or form is None:
            continue
        if set(form.get("properties", {})) & PICKED:
            continue
        cases.add(case_id)
        picked.append(Completion(user, role, case_id, task_id, example(form)))
        if len(picked) == count:
            break
    return picked


def _holders(session) -> dict[tuple[str, str], str]:
    """(role, unit path) -> the unit's oldest holder of the role (a demo login where there is one)."""
    holders: dict[tuple[str, str], str] = {}
    for username, path, role in session.execute(
            select(User.username, OrgUnit.path, UserRole.role_code).join(OrgUnit, OrgUnit.id == User.unit_id)
            .join(UserRole, UserRole.user_id == User.id).where(User.active.is_(True)).order_by(User.id)):
        holders.setdefault((role, path), username)
    return holders


def _holder(holders: dict, role: str | None, jurisdiction: str | None) -> str | None:
    """Who may complete a (role, unit) task: a holder at the unit or the nearest above it, else the
    nearest within it (``Principal.offered``)."""
    parts = [p for p in (jurisdiction or "").split("/") if p]
    for n in range(len(parts), 0, -1):
        user = holders.get((role, "/" + "/".join(parts[:n]) + "/"))
        if user:
            return user
    within = sorted((len(path), user) for (r, path), user in holders.items()
                    if r == role and jurisdiction and path.startswith(jurisdiction))
    return within[0][1] if within else None


def example(schema: dict) -> dict:
    """The form's first example with the dates of today (a deadline two weeks on)."""
    data = dict((schema.get("examples") or [{}])[0])
    today = datetime.now(CHINA)
    for name, prop in schema.get("properties", {}).items():
        if name in data and prop.get("format") == "date":
            data[name] = (today.date() + timedelta(days=14)).isoformat()
        elif name in data and prop.get("format") == "date-time":
            data[name] = today.replace(microsecond=0).isoformat()
    return data

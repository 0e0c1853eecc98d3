"""What people do with tasks besides completing them: claim, unclaim, reassign (转办), delegate
(委派) and take back, return to an earlier step (退回), urge (催办), copy (抄送), and notes on the
case (comments, attachments, personal-data views).

Every action is an audit event. Actions that do not move the workflow are written with
``_record``: the event, the task-row change and the caller's ``also`` rows (its notifications) in
one transaction, guarded by the case version like every command. Returning work moves the workflow back and is built on replay, as rewind is.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Connection, bindparam, select, update

from . import store
from .errors import Conflict, InvalidData, NotFound
from .models import Case, CaseTask
from .definitions import task_properties
from .replay import replay
from .store import NewEvent
from .verify import load_events

_tasks = CaseTask.__table__
# The caller's own rows to write in the action's transaction (the people it tells): see store.Change.also.
Also = Callable[[Connection, Case], None] | None


class TaskActions:
    """Mixed into CaseService."""

    def claim(self, task_id: str, actor: str):
        def change(task: CaseTask) -> dict[str, Any]:
            if task.assignee == actor:
                raise Conflict(f"you already hold task '{task.name}'")
            if task.assignee:
                raise Conflict(f"task '{task.name}' is already claimed by {task.assignee}", assignee=task.assignee)
            return {"assignee": actor}
        return self._task_action(task_id, actor, "task_claimed", change, also=_first_handler(actor))

    def unclaim(self, task_id: str, actor: str, supervisor: bool = False):
        def change(task: CaseTask) -> dict[str, Any]:
            if not task.assignee:
                raise Conflict(f"task '{task.name}' is not claimed")
            if task.assignee != actor and not supervisor:
                raise Conflict(f"task '{task.name}' is held by {task.assignee}, not by you")
            return {"assignee": task.owner, "owner": None} if task.owner else {"assignee": None}
        return self._task_action(task_id, actor, "task_unclaimed", change)

    def reassign(self, task_id: str, actor: str, to_user: str, reason: str, also: Also = None):
        _require_reason(reason)
        return self._task_action(task_id, actor, "task_reassigned", lambda task: {"assignee": to_user, "owner": None},
                                 {"to": to_user, "reason": reason}, also)

    def assign(self, task_id: str, actor: str, to_user: str | None, unit: str, reason: str = "",
               also: Also = None):
        """指派: a centre user gives a task to a named person (and that person's unit), or sends it to
        a unit (a department) for whoever holds its role there. The caller checked who may."""
        payload = {"to": to_user, "unit": unit, "reason": reason}
        return self._task_action(task_id, actor, "task_assigned",
                                 lambda task: {"assignee": to_user, "owner": None, "jurisdiction": unit}, payload, also)

    def transfer(self, task_id: str, actor: str, role: str, unit: str, reason: str, also: Also = None):
        """转派: move a task to another level (the city, a town, a department) and the role that works
        there, with a reason. Whoever held it lets go."""
        _require_reason(reason)

        def change(task: CaseTask) -> dict[str, Any]:
            if task.role == role and task.jurisdiction == unit:
                raise InvalidData("the task is already there", {"unit": "already there"})
            return {"role": role, "jurisdiction": unit, "assignee": None, "owner": None}
        return self._task_action(task_id, actor, "task_transferred", change,
                                 {"role": role, "unit": unit, "reason": reason.strip()}, also)

    def delegate(self, task_id: str, actor: str, to_user: str, note: str = "", also: Also = None):
        def change(task: CaseTask) -> dict[str, Any]:
            if task.assignee != actor:
                raise Conflict("claim the task before delegating it")
            if to_user == actor:
                raise InvalidData("delegate to someone else", {"to": "must be another user"})
            return {"assignee": to_user, "owner": actor}
        return self._task_action(task_id, actor, "task_delegated", change, {"to": to_user, "note": note}, also)

    def resolve_delegation(self, task_id: str, actor: str, draft: dict[str, Any], also: Also = None):
        """The delegate hands the task back to its owner, with the data they prepared."""
        def change(task: CaseTask) -> dict[str, Any]:
            if not task.owner or task.assignee != actor:
                raise Conflict("only the person the task was delegated to can hand it back")
            return {"assignee": task.owner, "owner": None, "draft": sealed or None}
        sealed = self.seal(draft or {})
        return self._task_action(task_id, actor, "task_delegation_resolved", change, {"draft": sealed}, also)

    def recall(self, task_id: str, actor: str):
        """The delegator takes a delegated task back (收回)."""
        def change(task: CaseTask) -> dict[str, Any]:
            if task.owner != actor:
                raise Conflict("only the person who delegated the task can take it back")
            return {"assignee": actor, "owner": None}
        return self._task_action(task_id, actor, "task_recalled", change)

    def urge(self, task_id: str, actor: str, message: str, also: Also = None):
        return self._task_action(task_id, actor, "task_urged", lambda task: {}, {"message": message}, also)

    def copy_to(self, task_id: str, actor: str, to_users: list[str], note: str, also: Also = None):
        if not to_users:
            raise InvalidData("name who to copy", {"to": "required"})
        return self._task_action(task_id, actor, "task_copied", lambda task: {}, {"to": to_users, "note": note},
                                 also)

    def annotate(self, case_id: int, actor: str, event_type: str, payload: dict[str, Any],
                 apply: Callable[[Connection], None] | None = None) -> Case:
        """Record a note on a case (comment, attachment, personal-data view) as an audit event."""
        return self._record(case_id, NewEvent(event_type, actor, self.clock.now(), payload), apply)

    def return_to(self, task_id: str, actor: str, element_id: str, reason: str):
        """退回: send the work back to an earlier step that the diagram marks ``returnable``. The case
        is rebuilt as it was before that step was last completed (like an admin's rewind)."""
        _require_reason(reason)
        with self.db.read() as session:
            task = session.get(CaseTask, task_id)
            if task is None:
                raise NotFound(f"task {task_id} does not exist")
            if task.state != "ready":
                raise Conflict(f"task '{task.name}' is no longer ready")
            events, _ = load_events(session, task.case_id)
            loaded = self.registry.load(session, session.get(Case, task.case_id).definition_id)
        target = returnable_step(loaded, element_id)
        completions = [e for e in events if e.type == "task_completed" and e.payload["task"]["element_id"] == element_id]
        if not completions:
            raise Conflict(f"step '{target}' has not been done yet; there is nothing to return to")
        to_seq = completions[-1].seq

        def run(snapshot):
            with self.db.read() as session:
                earlier = replay(events, lambda i: self.registry.load(session, i), self.script_engine,
                                 until=to_seq - 1)
            snapshot.workflow = earlier.workflow
            return earlier.incident
        return self._repair(task.case_id, actor, reason, "task_returned",
                            {"task_id": task_id, "to_element": element_id, "to_seq": to_seq}, run)

    # -- plumbing --------------------------------------------------------------------------------

    def _task_action(self, task_id: str, actor: str, event_type: str, change: Callable[[CaseTask], dict],
                     payload: dict[str, Any] | None = None, also: Also = None) -> CaseTask:
        with self.db.read() as session:
            task = session.get(CaseTask, task_id)
            if task is None:
                raise NotFound(f"task {task_id} does not exist")
            session.expunge(task)
        if task.state != "ready":
            raise Conflict(f"task '{task.name}' is no longer ready: it was {task.state}", task_state=task.state)
        values = change(task)
        moved = {"from_role": task.role, "from_unit": task.jurisdiction} if "jurisdiction" in values else {}
        event = NewEvent(event_type, actor, self.clock.now(), {
            "task_id": task_id, "element_id": task.element_id, **moved, **(payload or {})})

        def apply(conn: Connection) -> None:
            # The task row must still be as we read it: one writer per task at a time.
            unchanged = (_tasks.c.id == bindparam("tid"), _tasks.c.state == "ready",
                         _same(_tasks.c.assignee, task.assignee), _tasks.c.jurisdiction == task.jurisdiction,
                         _same(_tasks.c.role, task.role))
            if values:
                count = conn.execute(update(_tasks).where(*unchanged).values(**values), {"tid": task_id}).rowcount
            else:
                count = len(conn.execute(select(_tasks.c.id).where(*unchanged), {"tid": task_id}).all())
            if count != 1:
                raise Conflict(f"task '{task.name}' changed at the same time; reload and try again")
        self._record(task.case_id, event, apply, also)
        for key, value in values.items():
            setattr(task, key, value)
        return task

    def _record(self, case_id: int, event: NewEvent, apply: Callable[[Connection], None] | None,
                also: Also = None) -> Case:
        with self.db.read() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            session.expunge(case)
        before = (case.version, case.chain_head)
        with self.db.write_engine.begin() as conn:
            store.append_events(conn, case, [event])
            if apply is not None:
                apply(conn)
            if also is not None:
                also(conn, case)
            if self.on_write is not None:
                self.on_write(conn, case, frozenset())  # events only: the data and its fields are as they were
        self.workflows.moved(case.id, before, (case.version, case.chain_head))  # committed; state unchanged
        return case


def _first_handler(actor: str) -> Also:
    """The first person to sign for a case becomes its 首办负责人 (first handler)."""
    def write(conn: Connection, case: Case) -> None:
        conn.execute(update(Case.__table__).where(Case.__table__.c.id == case.id,
                                                 Case.__table__.c.first_handler.is_(None)).values(first_handler=actor))
    return write


def _same(column, value):
    return column.is_(None) if value is None else column == value


def returnable_step(loaded, element_id: str) -> str:
    for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if task_spec.bpmn_id == element_id:
                if task_properties(task_spec).get("returnable", "").lower() != "true":
                    raise Conflict(f"step '{task_spec.bpmn_name or element_id}' is not marked returnable "
                                   "in the process")
                return task_spec.bpmn_name or element_id
    raise NotFound(f"the process has no step '{element_id}'")


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise InvalidData("a reason is required", {"reason": "required"})


"""What ten years of cases look like: the paths a case takes through the bundled processes, with
their shares. Most disputes are green and closed in the village within days; a few go to the town,
are whistled to a department, or are red and led by a city leader for weeks. Recent cases stand in
every open state. The answers are the demo month's (cunliao/demo/plans.py), so every path is one a
real case can take; the engine decides where it actually goes."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from cunliao.demo.cases import Plan
from cunliao.demo.groundwork import id_no
from cunliao.demo.plans import AGREED, GREEN, GROUP, MATTERS, QUICK, RED, SATISFIED, TOWN_FIRST, person

LEAD_110 = {"source": "police_110", "source_ref": "", "lead_summary": "两户因排水沟争吵报警"}


@dataclass(frozen=True)
class Path:
    kind: str
    weight: float
    process: str
    answers: dict
    stop_at: tuple[str, ...] = ()
    then: str | None = None
    pace: tuple[float, float] = (2, 30)   # hours between two steps
    final: bool = True                     # False: the case stops in an open state (recent cases only)


WHISTLED = {**GROUP, "issue_type": "救助帮扶", "ack_decision": "应哨"}
PATHS = [
    # closed
    Path("quick_done", 30, "quick_mediation", AGREED, pace=(0.2, 3)),
    Path("resolved_village", 36, "dispute_intake", AGREED),
    Path("resolved_town", 6, "dispute_intake", {**TOWN_FIRST, **AGREED}),
    Path("guided_court", 4, "dispute_intake", {"willing": False, "refusing_party": "被申请人", "handoff_route": "court",
                                               "court_case_no": "(2026)鄂1181民初210号", **SATISFIED}),
    Path("whistled_done", 3, "dispute_intake", {**WHISTLED, **AGREED, "outcome": "已解决"}, pace=(24, 120)),
    Path("red_led", 1.5, "dispute_intake", {**RED, **AGREED}, pace=(24, 240)),
    Path("cancelled", 2.5, "dispute_intake", {}, ("session",), "cancel"),
    Path("suspended", 0.5, "dispute_intake", {}, ("session",), "suspend"),
    Path("lead_false_alarm", 3, "lead_clue", {**LEAD_110, "lead_result": "false_alarm"}, pace=(1, 24)),
    Path("lead_converted", 3, "lead_clue", {**LEAD_110, "lead_result": "converted", **AGREED}, pace=(1, 24)),
    # open (drawn for recent cases only)
    Path("registered", 2, "dispute_intake", {}, (), final=False),
    Path("noticed", 2, "dispute_intake", {}, ("classify",), final=False),
    Path("routing", 2, "dispute_intake", {}, ("route_confirm",), final=False),
    Path("village_accept", 3, "dispute_intake", {}, ("accept_village",), final=False),
    Path("investigating", 5, "dispute_intake", {}, ("investigate",), final=False),
    Path("session", 6, "dispute_intake", {}, ("session",), final=False),
    Path("town_accept", 2, "dispute_intake", TOWN_FIRST, ("accept_town",), final=False),
    Path("whistled", 1, "dispute_intake", {**GROUP, "issue_type": "救助帮扶"}, ("ack",), final=False),
    Path("dept_report", 1, "dispute_intake", WHISTLED, ("report",), final=False, pace=(24, 72)),
    Path("leader", 1, "dispute_intake", RED, ("a_work",), final=False, pace=(24, 120)),
    Path("revisit", 4, "dispute_intake", AGREED, ("revisit",), final=False),
    Path("quick_open", 3, "quick_mediation", {}, ("mediate", "on_spot"), final=False),
]
OPEN_WINDOW_DAYS = 60      # a case registered this recently may still be open
OPEN_SHARE = 0.5           # … and half of them are
REPEAT_SHARE = 0.05        # 反复纠纷: a party of the grid's previous dispute (within 90 days) is back
REPEAT_DAYS = 90


def plans(rng: random.Random, count: int, grids: list[dict], now: datetime, years: int):
    """``count`` (start time, path, Plan), oldest first; more cases in later years (the practice grew)."""
    finals = [p for p in PATHS if p.final]
    opens = [p for p in PATHS if not p.final]
    span = timedelta(days=365 * years).total_seconds()
    out = []
    for i in range(count):
        # density rising linearly from 0.5 to 1.5 over the years: inverse of its CDF
        u = rng.random()
        x = (-0.5 + (0.25 + 2 * u) ** 0.5)  # solves 0.5x + 0.5x^2 = u for x in [0, 1]
        start = now - timedelta(seconds=span * (1 - x))
        start = _office_hours(start, rng)
        if start >= now - timedelta(hours=2):
            start = now - timedelta(hours=2 + rng.random() * 48)
        recent = now - start < timedelta(days=OPEN_WINDOW_DAYS)
        pool = opens if recent and rng.random() < OPEN_SHARE else finals
        path = rng.choices(pool, weights=[p.weight for p in pool])[0]
        grid = rng.choice(grids)
        out.append((start, path, _plan(rng, path, grid, i)))
    out.sort(key=lambda t: t[0])
    _identities(random.Random(rng.random()), out)
    return out


def _identities(rng: random.Random, planned: list) -> None:
    """Every dispute's parties get ID numbers, as the intake form records them (sealed, and indexed
    by their keyed hash: the search by ID number and the repeat-dispute KPI read that index). About
    one in twenty shares a party with its grid's previous dispute when that one is at most 90 days
    older. Drawn after the plans, from a generator of their own: the rest of the city is the same."""
    previous: dict[str, tuple[datetime, list[str]]] = {}
    for start, _path, plan in planned:
        parties = plan.answers.get("parties")
        if not parties:
            continue
        numbers = [id_no(rng, rng.randint(1950, 2004)) for _ in parties]
        before = previous.get(plan.grid)
        if before and start - before[0] <= timedelta(days=REPEAT_DAYS) and rng.random() < REPEAT_SHARE:
            numbers[0] = rng.choice(before[1])
        plan.answers["parties"] = [{**party, "id_no": number} for party, number in zip(parties, numbers)]
        previous[plan.grid] = (start, numbers)


def _office_hours(start: datetime, rng: random.Random) -> datetime:
    """Registered in office hours, China time (UTC+8: 08:00-17:00 is 00:00-09:00 UTC)."""
    return start.replace(hour=rng.randrange(0, 9), minute=rng.randrange(0, 60))


def _plan(rng: random.Random, path: Path, grid: dict, index: int) -> Plan:
    village = grid["name"].split("第")[0]
    a, b = person(rng), person(rng)
    if path.process == "quick_mediation":
        category, what = rng.choice(QUICK)
        title = f"{a}与{b}{what}"
        extra = {"summary": what, "category": category, "party_count": 2, "amount": 0, "escalation_signs": False,
                 "location": f"{village}{rng.randint(1, 9)}组"}
    elif path.process == "lead_clue":
        title = f"110警情：{village}{a}与{b}争吵"
        extra = {"source_ref": f"110-{index:08d}", "lead_summary": f"{village}{a}与{b}因排水沟争吵报警"}
    else:
        category, subject, what = rng.choice(MATTERS)
        category = path.answers.get("category", category)
        title = f"{a}与{b}{subject}纠纷" if "category" not in path.answers else f"{a}等{category}纠纷"
        extra = {**GREEN, "category": category, "category_l2": f"{category}/{subject}", "summary": what,
                 "address": f"{village}{rng.randint(1, 9)}组{rng.randint(1, 40)}号",
                 "channel": rng.choice(("grid_patrol", "walk_in", "grid_patrol", "transfer_in", "one_key_call")),
                 "parties": [{"role": "申请人", "name": a}, {"role": "被申请人", "name": b}],
                 "whistle_town": grid.get("town_name", ""), "leader_name": "孙书记", "leader_post": "市委政法委副书记"}
    answers = {**extra, **{k: v for k, v in path.answers.items() if k not in extra or k == "category"}}
    return Plan(kind=path.kind, process=path.process, grid=grid["code"], title=title, answers=answers,
                stop_at=frozenset(path.stop_at), steps=0 if path.kind == "registered" else None, then=path.then)

"""The census of the whole city, written in bulk into the app's tables as the census import would
write it: people with sealed ID numbers and phones (the app's ``Vault``: Fernet + keyed hash +
mask), households, houses and land parcels (``census_items``), one ``census_changes`` create row
each; then the grid workers' visits and the villages' patrol teams with their logs."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from api.census.ledger import _CHECK, _WEIGHTS
from api.census.service import CensusChange, CensusItem, CensusPerson, CensusVisit
from api.core.pii import Vault, masked
from api.prevention.service import PatrolLog, PatrolTeam
from engine.clock import CHINA

from . import bulk
from .org import GIVEN, SURNAMES, City
from .sizes import Sizes

FLAG_SETS = (["常住"],) * 6 + (["流动"], ["常住", "困难群体"], ["常住", "特殊人群"], ["流动", "重点人员"])
STRUCTURES = ("砖混", "砖木", "框架", "土木")
LAND_USES = ("水稻", "小麦", "油菜", "茶园", "板栗", "鱼塘", "林地")


def id_number(rng: random.Random, used: dict[str, int]) -> str:
    """A 麻城 resident ID number with a valid check digit, unique in this census (made up)."""
    while True:
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 88))
        stem = f"421181{born:%Y%m%d}"
        serial = used.get(stem, rng.randrange(0, 400))
        if serial < 999:
            used[stem] = serial + 1
            body = f"{stem}{serial:03d}"
            return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def build(conn: Connection, city: City, sizes: Sizes, vault: Vault, now: datetime, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    since = now - timedelta(days=365 * sizes.years)
    grids = city.grids
    item_id, person_id = bulk.next_id(conn, CensusItem.__table__), bulk.next_id(conn, CensusPerson.__table__)
    change_id = bulk.next_id(conn, CensusChange.__table__)
    out = bulk.Batches(conn)  # items before the people that point at their households
    items, people, changes = CensusItem.__table__, CensusPerson.__table__, CensusChange.__table__
    households: list[tuple[int, dict, str, int]] = []  # (id, grid, address, members left)

    def stamp() -> datetime:
        return since + timedelta(seconds=rng.randrange(0, int((now - since).total_seconds())))

    def change(*args) -> None:
        nonlocal change_id
        out.add(changes, {"id": change_id, **_change(*args)})
        change_id += 1

    def item(kind: str, grid: dict, name: str, attributes: dict, actor: str) -> int:
        nonlocal item_id
        at = stamp()
        row = {"id": item_id, "kind": kind, "grid_path": grid["path"], "name": name[:200], "attributes": attributes,
               "created_at": at, "updated_at": at}
        out.add(items, row)
        change("item", item_id, grid["path"], actor, at,
               {"id": item_id, "kind": kind, "grid_path": grid["path"], "name": row["name"], "attributes": attributes})
        item_id += 1
        return item_id - 1

    out.rows.update({items: [], people: [], changes: []})
    for h in range(sizes.households):
        grid = grids[h % len(grids)]
        actor = city.grid_workers[grid["path"]][0]
        head = person_name(rng)
        address = f"{grid['name'][:-4]}{rng.randint(1, 12)}组{h // len(grids) + 1}号"
        hid = item("household", grid, f"{head}户 {address}", {"address": address, "head": head}, actor)
        item("house", grid, f"{address}民房", {"address": address, "structure": rng.choice(STRUCTURES),
                                                "floors": rng.choice((1, 2, 2, 3))}, actor)
        households.append((hid, grid, address, 0))
    for p in range(sizes.parcels):
        grid = grids[p % len(grids)]
        item("land", grid, f"{grid['name'][:-4]}{rng.randint(1, 12)}组责任田{p // len(grids) + 1}号",
             {"area_mu": round(rng.uniform(0.3, 8), 1), "use": rng.choice(LAND_USES)}, city.grid_workers[grid["path"]][0])
    used: dict[str, int] = {}
    for p in range(sizes.people):
        hid, grid, address, _ = households[p % len(households)] if households else (None, grids[p % len(grids)], "", 0)
        id_no = id_number(rng, used)
        sealed = vault.seal({"id_no": id_no, "phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}"
                                                      f"{rng.randint(10000000, 99999999)}"})
        at = stamp()
        row = {"id": person_id, "grid_path": grid["path"], "name": person_name(rng), "id_no": sealed["id_no"],
               "id_hash": sealed["id_no"]["hash"], "phone": sealed["phone"] if rng.random() < 0.8 else None,
               "household_id": hid, "address": address, "flags": rng.choice(FLAG_SETS), "created_at": at,
               "updated_at": at}
        out.add(people, row)
        change("person", person_id, grid["path"], city.grid_workers[grid["path"]][0], at,
               {"id": person_id, "grid_path": grid["path"], "name": row["name"],
                "id_no": masked(row["id_no"]), "phone": masked(row["phone"]) if row["phone"] else None,
                "household_id": hid, "address": address, "flags": row["flags"]})
        person_id += 1
    written = out.flush()
    return {f"census_{name}": written.get(f"census_{name}", 0) for name in ("items", "people", "changes")}


def _change(target_type: str, target_id: int, grid_path: str, actor: str, at: datetime, after: dict) -> dict:
    return {"target_type": target_type, "target_id": target_id, "grid_path": grid_path, "action": "create",
            "actor": actor, "at": at, "before": None, "after": after}


def visits_and_patrols(conn: Connection, city: City, sizes: Sizes, now: datetime, seed: int) -> dict[str, int]:
    """Door-to-door visits over the last two years (about one per ten residents a year … per grid
    worker, half days), and a patrol team per village patrolling every few evenings."""
    rng = random.Random(seed + 1)
    since = now - timedelta(days=730)
    out = bulk.Batches(conn)
    visits, teams, logs = CensusVisit.__table__, PatrolTeam.__table__, PatrolLog.__table__
    out.rows.update({visits: [], teams: [], logs: []})  # teams before the logs that point at them
    vid = bulk.next_id(conn, visits)
    for i in range(max(len(city.grids), sizes.people * 3 // 10)):
        grid = city.grids[i % len(city.grids)]
        day = (since + timedelta(days=rng.randrange(0, 729))).astimezone(CHINA)
        begin = day.replace(hour=8, minute=rng.randrange(0, 60), second=0, microsecond=0)
        end = begin + timedelta(hours=4, minutes=rng.randrange(0, 50))
        out.add(visits, {"id": vid + i, "round_id": None, "grid_path": grid["path"],
                         "worker": rng.choice(city.grid_workers[grid["path"]]), "started_at": begin, "ended_at": end,
                         "location": f"{grid['name'][:-4]}{rng.randint(1, 12)}组", "findings": "入户核实人口信息，无异常",
                         "verified": [], "created_at": end})
    team_id, log_id = bulk.next_id(conn, teams), bulk.next_id(conn, logs)
    for village in city.villages:
        out.add(teams, {"id": team_id, "area_path": village["path"], "name": f"{village['name']}治安巡逻队",
                        "members": [{"name": person_name(rng) + "（队长）"}, {"name": person_name(rng)}], "active": True,
                        "created_by": "admin", "created_at": since})
        day = since.astimezone(CHINA).replace(hour=19, minute=0, second=0, microsecond=0)
        while day < now - timedelta(hours=3):
            end = day + timedelta(hours=2, minutes=rng.choice((0, 15, 30, 45)))
            out.add(logs, {"id": log_id, "team_id": team_id, "area_path": village["path"], "patrol_date": day.date(),
                           "started_at": day, "ended_at": end, "route": f"{village['name']}村委会—河堤—小学",
                           "findings": rng.choice(("无异常", "无异常", "路灯损坏一处", "河堤护栏松动")), "issues": [],
                           "created_by": "admin", "created_at": end})
            log_id += 1
            day += timedelta(days=rng.choice((2, 3, 4)))
        team_id += 1
    written = out.flush()
    return {"census_visits": written[visits.name], "patrol_teams": written[teams.name],
            "patrol_logs": written[logs.name]}

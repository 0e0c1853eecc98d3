"""The city's organisation: the demo tree (whose logins the measurement signs in with) grown to
``sizes.towns`` towns, ``sizes.villages`` villages and ``sizes.grids`` grids, each town with its
司法所 and 派出所, and ``sizes.users`` users: every lane's role in every unit where it sits, then
more grid workers. All users share the demo password (one argon2 hash: it is slow on purpose)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from api.core.auth import hash_password
from api.core.models import OrgUnit, User, UserRole

from . import bulk
from .sizes import Sizes

TOWN_NAMES = ("宋埠镇", "龟山镇", "歧亭镇", "白果镇", "夫子河镇", "中馆驿镇", "盐田河镇", "黄土岗镇", "福田河镇", "乘马岗镇",
              "顺河镇", "木子店镇", "三河口镇", "张家畈镇", "铁门岗乡", "鼓楼街道", "龙池桥街道", "南湖街道", "阎家河镇",
              "木樨河街道")
VILLAGE_WORDS = "杨柳桃李王张陈刘黄何胡周吴徐高罗梁宋郑谢石桥河湾岗畈冲坳塆店铺寨坪垸湖山林"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国红梅志文春燕海金凤玉德胜长青"


@dataclass
class City:
    towns: list[dict] = field(default_factory=list)      # {id, code, path, name}
    villages: list[dict] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)      # {id, code, path, name, village, town}
    grid_workers: dict[str, list[str]] = field(default_factory=dict)  # grid path -> usernames
    users: int = 0


def build(conn: Connection, sizes: Sizes, password: str, now: datetime) -> City:
    """Add the units and users the city lacks (the demo tree is there already: ``seed_demo``)."""
    units = {u.code: u for u in conn.execute(select(OrgUnit.__table__))}
    city_row = units["macheng"]
    unit_rows, next_unit = [], bulk.next_id(conn, OrgUnit.__table__)
    city = City()

    def unit(code: str, name: str, kind: str, parent) -> dict:
        nonlocal next_unit
        if code in units:
            row = units[code]
            return {"id": row.id, "code": row.code, "path": row.path, "name": row.name}
        parent_path = parent["path"] if isinstance(parent, dict) else parent.path
        parent_id = parent["id"] if isinstance(parent, dict) else parent.id
        row = {"id": next_unit, "code": code, "name": name, "kind": kind, "parent_id": parent_id,
               "path": f"{parent_path}{code}/"}
        next_unit += 1
        unit_rows.append(row)
        return row

    demo_towns = [("songbu", ["songbu-yangjiawan", "songbu-xindian"]), ("guishan", ["guishan-guifeng", "guishan-shiqiao"])]
    per_town = _spread(sizes.villages, sizes.towns)
    per_village = _spread(sizes.grids, sizes.villages)
    village_index = 0
    for t in range(sizes.towns):
        if t < len(demo_towns):
            town_code, demo_villages = demo_towns[t]
        else:
            town_code, demo_villages = f"t{t + 1:02d}", []
        town = unit(town_code, TOWN_NAMES[t % len(TOWN_NAMES)] + ("" if t < len(TOWN_NAMES) else str(t)), "town",
                    city_row)
        town["sifasuo"] = unit(f"{town_code}-sifasuo", town["name"] + "司法所", "department", town)
        town["paichusuo"] = unit(f"{town_code}-paichusuo", town["name"][:-1] + "派出所", "department", town)
        city.towns.append(town)
        for v in range(per_town[t]):
            code = demo_villages[v] if v < len(demo_villages) else f"{town_code}-v{v + 1:03d}"
            name = VILLAGE_WORDS[village_index % len(VILLAGE_WORDS)] + VILLAGE_WORDS[(village_index * 7 + 3) % len(
                VILLAGE_WORDS)] + f"{v + 1}村"
            village = unit(code, name, "village", town)
            village["town"] = town["path"]
            city.villages.append(village)
            for g in range(per_village[village_index]):
                grid = unit(f"{code}-g{g + 1}", f"{village['name']}第{g + 1}网格", "grid", village)
                grid.update(village=village["path"], town=town["path"], town_name=town["name"])
                city.grids.append(grid)
            village_index += 1
    bulk.write(conn, OrgUnit.__table__, unit_rows)
    city.users = _users(conn, city, sizes, password, now)
    return city


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _users(conn: Connection, city: City, sizes: Sizes, password: str, now: datetime) -> int:
    """Staff every town, village and grid that has nobody yet; then more grid workers up to the size."""
    existing = conn.execute(select(User.__table__.c.username, OrgUnit.__table__.c.path, UserRole.__table__.c.role_code)
                            .join(OrgUnit.__table__, OrgUnit.__table__.c.id == User.__table__.c.unit_id)
                            .join(UserRole.__table__, UserRole.__table__.c.user_id == User.__table__.c.id)).all()
    staffed = {(path, role) for _, path, role in existing}
    for username, path, role in existing:
        if role == "grid_worker":
            city.grid_workers.setdefault(path, []).append(username)
    wanted: list[tuple[str, str, dict, list[str]]] = []  # (username, title, unit, roles)
    for town in city.towns:
        for role, title in (("town_officer", "镇综治中心专员"), ("town_director", "镇综治中心主任")):
            if (town["path"], role) not in staffed:
                wanted.append((f"{role.split('_')[1]}_{town['code']}", title, town, [role]))
        if (town["sifasuo"]["path"], "justice_officer") not in staffed:
            wanted.append((f"justice_{town['code']}", "司法所专员", town["sifasuo"], ["justice_officer", "department_liaison"]))
        if (town["paichusuo"]["path"], "police_liaison") not in staffed:
            wanted.append((f"police_{town['code']}", "派出所联络员", town["paichusuo"],
                           ["police_liaison", "department_liaison"]))
    for village in city.villages:
        for role, title in (("village_mediator", "村调解员"), ("village_secretary", "村书记")):
            if (village["path"], role) not in staffed:
                wanted.append((f"{role.split('_')[1]}_{village['code']}", title, village, [role]))
    for grid in city.grids:
        if grid["path"] not in city.grid_workers:
            wanted.append((f"grid_{grid['code']}", "网格员", grid, ["grid_worker"]))
        if (grid["path"], "building_head") not in staffed:  # answers one-key calls (one_key_response)
            wanted.append((f"louzhang_{grid['code']}", "楼栋长", grid, ["building_head"]))
    extra, total = 0, len({u for u, _, _ in existing}) + len(wanted)
    while total < sizes.users:  # a second and third worker in the grids, round the city
        grid = city.grids[extra % len(city.grids)]
        wanted.append((f"grid_{grid['code']}_{extra // len(city.grids) + 2}", "网格员", grid, ["grid_worker"]))
        extra, total = extra + 1, total + 1
    password_hash = hash_password(password)
    user_id, link_id = bulk.next_id(conn, User.__table__), bulk.next_id(conn, UserRole.__table__)
    users, links = [], []
    for i, (username, title, unit, roles) in enumerate(wanted):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13 + 5) % len(GIVEN)]
        users.append({"id": user_id, "username": username, "display_name": f"{title} {name}",
                      "password_hash": password_hash, "unit_id": unit["id"], "active": True,
                      "must_change_password": False, "created_at": now})
        for role in roles:
            links.append({"id": link_id, "user_id": user_id, "role_code": role})
            link_id += 1
        if roles == ["grid_worker"]:
            city.grid_workers.setdefault(unit["path"], []).append(username)
        user_id += 1
    bulk.write(conn, User.__table__, users)
    bulk.write(conn, UserRole.__table__, links)
    return total

"""Roles from the catalogue, and the demo organisation and users (first run only)."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.census.heads import demo_roster
from api.core.auth import hash_password
from api.core.models import OrgUnit, Role, User, UserRole
from api.core.services import RoleCatalogue
from engine.models import CalendarDay, SlaRule

# (code, name, kind, children)
DEMO_TREE = ("macheng", "麻城市", "city", [
    ("songbu", "宋埠镇", "town", [
        ("songbu-yangjiawan", "杨家湾村", "village", [
            ("songbu-yangjiawan-g1", "杨家湾村第一网格", "grid", []),
            ("songbu-yangjiawan-g2", "杨家湾村第二网格", "grid", [])]),
        ("songbu-xindian", "新店村", "village", [
            ("songbu-xindian-g1", "新店村第一网格", "grid", []),
            ("songbu-xindian-g2", "新店村第二网格", "grid", [])]),
        ("songbu-sifasuo", "宋埠镇司法所", "department", []),
        ("songbu-paichusuo", "宋埠派出所", "department", [])]),
    ("guishan", "龟山镇", "town", [
        ("guishan-guifeng", "龟峰村", "village", [
            ("guishan-guifeng-g1", "龟峰村第一网格", "grid", []),
            ("guishan-guifeng-g2", "龟峰村第二网格", "grid", [])]),
        ("guishan-shiqiao", "石桥村", "village", [
            ("guishan-shiqiao-g1", "石桥村第一网格", "grid", []),
            ("guishan-shiqiao-g2", "石桥村第二网格", "grid", [])]),
        ("guishan-sifasuo", "龟山镇司法所", "department", []),
        ("guishan-paichusuo", "龟山派出所", "department", [])]),
    ("minzheng", "市民政局", "department", []),
    ("renshe", "市人社局", "department", []),
    ("ziranziyuan", "市自然资源和规划局", "department", []),
    ("fulian", "市妇联", "department", []),
    ("xinfang", "市信访局", "department", []),
])

# (username, display name, unit code, roles). Every role a bundled lane names has a login in each
# town where it sits (tests/test_staffing.py keeps it so); a town's 司法所 and 派出所 also sign for
# the whistles sent to them (department_liaison).
DEMO_USERS = [
    ("admin", "系统管理员", "macheng", ["admin"]),
    ("designer", "流程设计员 陈工", "macheng", ["designer"]),
    ("auditor", "审计员 周审", "macheng", ["auditor"]),
    ("grid", "网格员 李网格", "songbu-yangjiawan-g1", ["grid_worker"]),
    ("mediator", "村调解员 王调解", "songbu-yangjiawan", ["village_mediator"]),
    ("town", "镇综治中心 张专员", "songbu", ["town_officer"]),
    ("city", "市综治中心 刘主任", "macheng", ["city_director", "city_officer"]),
    ("dept", "民政局联络员 赵联络", "minzheng", ["department_liaison"]),
    ("leader", "包案领导 孙书记", "macheng", ["leader"]),
    ("grid2", "网格员 周网格", "songbu-yangjiawan-g2", ["grid_worker"]),
    ("secretary", "村书记 杨书记", "songbu-yangjiawan", ["village_secretary"]),
    ("director", "镇综治中心 冯主任", "songbu", ["town_director"]),
    ("justice", "宋埠镇司法所 蒋专员", "songbu-sifasuo", ["justice_officer", "department_liaison"]),
    ("police", "宋埠派出所 韩联络", "songbu-paichusuo", ["police_liaison", "department_liaison"]),
    ("grid_gs", "网格员 吴网格", "guishan-guifeng-g1", ["grid_worker"]),
    ("mediator_gs", "村调解员 郑调解", "guishan-guifeng", ["village_mediator"]),
    ("secretary_gs", "村书记 何书记", "guishan-guifeng", ["village_secretary"]),
    ("town_gs", "镇综治中心 钱专员", "guishan", ["town_officer"]),
    ("director_gs", "镇综治中心 陈主任", "guishan", ["town_director"]),
    ("justice_gs", "龟山镇司法所 沈专员", "guishan-sifasuo", ["justice_officer", "department_liaison"]),
    ("police_gs", "龟山派出所 韦联络", "guishan-paichusuo", ["police_liaison", "department_liaison"]),
    # Every village has its mediator and secretary and every grid its worker, so that a case in any
    # demo village reaches a person (a resident's 解纷码 of any grid, the demo month, assignment by grid).
    ("grid_xd", "网格员 卢网格", "songbu-xindian-g1", ["grid_worker"]),
    ("grid_xd2", "网格员 潘网格", "songbu-xindian-g2", ["grid_worker"]),
    ("mediator_xd", "村调解员 罗调解", "songbu-xindian", ["village_mediator"]),
    ("secretary_xd", "村书记 邓书记", "songbu-xindian", ["village_secretary"]),
    ("grid_gs2", "网格员 彭网格", "guishan-guifeng-g2", ["grid_worker"]),
    ("grid_sq", "网格员 曾网格", "guishan-shiqiao-g1", ["grid_worker"]),
    ("grid_sq2", "网格员 萧网格", "guishan-shiqiao-g2", ["grid_worker"]),
    ("mediator_sq", "村调解员 田调解", "guishan-shiqiao", ["village_mediator"]),
    ("secretary_sq", "村书记 董书记", "guishan-shiqiao", ["village_secretary"]),
    # A 楼栋长/组长 in every grid answers the one-key calls of the building or group they head
    # (DEMO_BUILDING_HEADS); the grid worker answers the others.
    ("louzhang", "组长 王组长", "songbu-yangjiawan-g1", ["building_head"]),
    ("louzhang2", "组长 朱组长", "songbu-yangjiawan-g2", ["building_head"]),
    ("louzhang_xd", "楼栋长 黄楼长", "songbu-xindian-g1", ["building_head"]),
    ("louzhang_xd2", "组长 林组长", "songbu-xindian-g2", ["building_head"]),
    ("louzhang_gs", "组长 高组长", "guishan-guifeng-g1", ["building_head"]),
    ("louzhang_gs2", "组长 马组长", "guishan-guifeng-g2", ["building_head"]),
    ("louzhang_sq", "组长 胡组长", "guishan-shiqiao-g1", ["building_head"]),
    ("louzhang_sq2", "组长 郭组长", "guishan-shiqiao-g2", ["building_head"]),
    ("dept_renshe", "人社局联络员 许联络", "renshe", ["department_liaison"]),
    ("dept_ziran", "自然资源局联络员 何联络", "ziranziyuan", ["department_liaison"]),
    ("dept_fulian", "妇联联络员 吕联络", "fulian", ["department_liaison"]),
    ("dept_xinfang", "信访局联络员 施联络", "xinfang", ["department_liaison"]),
]

# The roster of the heads above: (grid code, building or group as addresses name it, kind, name, login).
DEMO_BUILDING_HEADS = [
    ("songbu-yangjiawan-g1", "杨家湾村3组", "组", "王组长", "louzhang"),
    ("songbu-yangjiawan-g2", "杨家湾村5组", "组", "朱组长", "louzhang2"),
    ("songbu-xindian-g1", "新店村1栋", "楼栋", "黄楼长", "louzhang_xd"),
    ("songbu-xindian-g2", "新店村4组", "组", "林组长", "louzhang_xd2"),
    ("guishan-guifeng-g1", "龟峰村2组", "组", "高组长", "louzhang_gs"),
    ("guishan-guifeng-g2", "龟峰村6组", "组", "马组长", "louzhang_gs2"),
    ("guishan-shiqiao-g1", "石桥村1组", "组", "胡组长", "louzhang_sq"),
    ("guishan-shiqiao-g2", "石桥村3组", "组", "郭组长", "louzhang_sq2"),
]

# The work numbers grid workers publish on the village's 公示牌 (made up; 0713 is Huanggang's area code).
DEMO_SERVICE_PHONES = {username: f"0713-52100{n:02d}" for n, (username, _, _, roles) in enumerate(DEMO_USERS)
                       if "grid_worker" in roles}


def sync_reference_data(session: Session, catalogue: RoleCatalogue, workflows_dir: Path) -> None:
    """Roles, default SLA rules and the holiday calendar from workflows/. Existing SLA rows and
    calendar days are left alone: once seeded, the tables are the truth and are edited there."""
    existing = {role.code: role for role in session.scalars(select(Role))}
    for entry in catalogue.entries:
        role = existing.get(entry["code"]) or Role(code=entry["code"])
        role.name_zh, role.name_en = entry["zh"], entry["en"]
        session.add(role)
    sla = json.loads((workflows_dir / "sla.json").read_text(encoding="utf-8"))
    effective_from = datetime.fromisoformat(sla["effective_from"])
    known = set(session.scalars(select(SlaRule.key)))
    for rule in sla["rules"]:
        if rule["key"] not in known:
            session.add(SlaRule(key=rule["key"], name=rule["name"], duration=rule["duration"],
                                calendar=rule["calendar"], basis=rule.get("basis", ""), effective_from=effective_from))
    calendar = json.loads((workflows_dir / "calendar.json").read_text(encoding="utf-8"))
    days = set(session.scalars(select(CalendarDay.day)))
    for entry in calendar["days"]:
        day = date.fromisoformat(entry["day"])
        if day not in days:
            session.add(CalendarDay(day=day, kind=entry["kind"], note=entry.get("note", "")))


def seed_demo(session: Session, password: str, now, demo_mode: bool = True) -> bool:
    """Create the demo organisation and users that do not exist yet (by unit code and username),
    so a database seeded by an older release gains the logins added since; returns whether it
    created anything.

    Outside demo mode the seeded accounts must change their (publicly known) password at first login."""
    units = {unit.code: unit for unit in session.scalars(select(OrgUnit))}
    created = False

    def add(node, parent: OrgUnit | None) -> None:
        nonlocal created
        code, name, kind, children = node
        if code not in units:
            unit = OrgUnit(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                           path=f"{parent.path if parent else '/'}{code}/")
            session.add(unit)
            session.flush()
            units[code], created = unit, True
        for child in children:
            add(child, units[code])

    add(DEMO_TREE, None)
    existing = set(session.scalars(select(User.username)))
    missing = [entry for entry in DEMO_USERS if entry[0] not in existing]
    password_hash = hash_password(password) if missing else ""  # one hash for all: argon2 is slow on purpose
    for username, display_name, unit_code, roles in missing:
        user = User(username=username, display_name=display_name, password_hash=password_hash,
                    service_phone=DEMO_SERVICE_PHONES.get(username),
                    unit_id=units[unit_code].id, created_at=now, must_change_password=not demo_mode)
        user.role_links = [UserRole(role_code=role) for role in roles]
        session.add(user)
    session.flush()
    roster = demo_roster(session, DEMO_BUILDING_HEADS, now)
    return created or bool(missing) or roster

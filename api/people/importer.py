"""Import of the organisation and its users from CSV and Excel (.xlsx) files.

A file (or an .xlsx sheet) holds either units or users; which one is told by its header row
(Chinese or English column names, see ``UNIT_COLUMNS`` and ``USER_COLUMNS``). Everything is
checked before anything is written: any bad row makes the whole import fail with every bad row
listed (file, sheet, row number as the spreadsheet shows it, column, reason), and nothing is
written. A good import runs in one transaction. Used by the admin API and ``cunliao import-org``.

Re-importing a file is harmless: known unit codes and usernames are updated (unit names; user
names, units, roles, active flag), not duplicated. An import never moves a unit or changes its
type, and never changes an existing user's password.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import auth, org, tabular
from api.core.models import OrgUnit, User, UserRole
from api.core.services import RoleCatalogue, Services
from api.core.tabular import MAX_ROWS, ImportInvalid, RowError

# field -> accepted header spellings (compared without spaces, case-insensitively; a trailing
# note in brackets and a '*' marking a required column are ignored: "角色（多个用;分隔）*").
UNIT_COLUMNS = {
    "code": ("单位编码", "编码", "code", "unit_code"),
    "name": ("单位名称", "名称", "name", "unit_name"),
    "kind": ("类型", "单位类型", "层级", "kind", "type"),
    "parent": ("上级编码", "上级单位编码", "上级单位", "parent_code", "parent"),
}
USER_COLUMNS = {
    "username": ("用户名", "登录名", "账号", "username", "login"),
    "display_name": ("姓名", "显示名", "display_name", "name", "full_name"),
    "unit": ("单位编码", "所属单位编码", "所属单位", "unit_code", "unit"),
    "roles": ("角色", "roles", "role"),
    "active": ("启用", "是否启用", "状态", "active"),
    "password": ("初始密码", "密码", "password", "initial_password"),
}
UNIT_REQUIRED = ("code", "name", "kind")
USER_REQUIRED = ("username", "display_name", "unit", "roles")
COLUMN_ZH = {"code": "单位编码", "name": "单位名称", "kind": "类型", "parent": "上级编码", "username": "用户名",
             "display_name": "姓名", "unit": "单位编码", "roles": "角色", "active": "启用", "password": "初始密码"}
TRUE = {"", "1", "true", "yes", "y", "是", "启用", "正常", "有效"}
FALSE = {"0", "false", "no", "n", "否", "停用", "禁用", "无效"}


@dataclass
class Row:
    file: str
    sheet: str | None
    number: int
    values: dict[str, str]

    def error(self, column: str | None, message: str, detail: str) -> RowError:
        return RowError(self.file, self.sheet, self.number, COLUMN_ZH.get(column, column) if column else None,
                        message, detail)


@dataclass
class Table:
    kind: str  # "units" or "users"
    rows: list[Row]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportResult:
    dry_run: bool
    units: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)
    passwords: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "units": self.units.as_dict(), "users": self.users.as_dict(),
                "passwords": self.passwords}


# --- reading files ---------------------------------------------------------------------------

def read_sources(sources: Iterable[tuple[str, bytes]]) -> tuple[list[Table], list[RowError]]:
    tables: list[Table] = []
    errors: list[RowError] = []
    for name, content in sources:
        found = len(tables)
        csv_file = name.lower().endswith(".csv")
        try:
            for sheet in tabular.sheets(name, content):
                # Sheets with other headers (instructions, lookups) are skipped; one must be importable.
                _table(sheet, tables, errors, required=csv_file)
        except tabular.Unreadable as exc:
            errors.append(RowError(name, None, 0, None, exc.message, exc.detail))
            continue
        if not csv_file and len(tables) == found:
            errors.append(RowError(name, None, 1, None, "未找到可导入的工作表：表头应包含“单位编码、单位名称、类型”或“用户名、姓名、单位编码、角色”",
                                   "no sheet has a unit or user header row"))
    if sum(len(t.rows) for t in tables) > MAX_ROWS:
        errors.append(RowError("", None, 0, None, f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows at once"))
    return tables, errors


def _table(sheet: tabular.Sheet, tables: list[Table], errors: list[RowError], required: bool) -> None:
    name, title = sheet.file, sheet.title
    if not any(c.strip() for c in sheet.header):
        if required:
            errors.append(RowError(name, title, 1, None, "缺少表头行", "the header row is missing"))
        return
    kind, columns = None, {}
    for candidate, spec in (("users", USER_COLUMNS), ("units", UNIT_COLUMNS)):
        mapping = tabular.map_header(sheet.header, spec)
        if ("username" in mapping) if candidate == "users" else ("code" in mapping and "name" in mapping):
            kind, columns = candidate, mapping
            break
    if kind is None:
        if required:
            errors.append(RowError(name, title, 1, None, "无法识别表头：应包含“单位编码、单位名称、类型”或“用户名、姓名、单位编码、角色”",
                                   "unrecognised header row"))
        return
    missing = [f for f in (USER_REQUIRED if kind == "users" else UNIT_REQUIRED) if f not in columns]
    if missing:
        errors.append(RowError(name, title, 1, None, f"缺少列：{'、'.join(COLUMN_ZH[f] for f in missing)}",
                               f"missing columns: {', '.join(missing)}"))
        return
    table = Table(kind, [Row(name, title, number, tabular.values(cells, columns)) for number, cells in sheet.rows])
    tables.append(table)


# --- checking --------------------------------------------------------------------------------

@dataclass
class UnitPlan:
    row: Row
    code: str
    name: str
    kind: str
    parent: str | None
    path: str | None = None
    existing: OrgUnit | None = None


@dataclass
class UserPlan:
    row: Row
    username: str
    display_name: str
    unit: str
    roles: list[str]
    active: bool | None
    password: str | None
    existing: User | None = None


@dataclass
class Plan:
    units: list[UnitPlan]
    users: list[UserPlan]
    errors: list[RowError]


def check(session: Session, tables: list[Table], catalogue: RoleCatalogue, scope_path: str, actor: str) -> Plan:
    """Every problem of every row, against the database as it is now."""
    errors: list[RowError] = []
    units = _check_units(session, [r for t in tables if t.kind == "units" for r in t.rows], scope_path, errors)
    users = _check_users(session, [r for t in tables if t.kind == "users" for r in t.rows], units, catalogue,
                         scope_path, actor, errors)
    errors.sort(key=lambda e: (e.file, e.sheet or "", e.row))
    return Plan(list(units.values()), users, errors)


def _check_units(session: Session, rows: list[Row], scope_path: str, errors: list[RowError]) -> dict[str, UnitPlan]:
    existing = {u.code: u for u in session.scalars(select(OrgUnit))}
    plans: dict[str, UnitPlan] = {}
    for row in rows:
        v = row.values
        bad = len(errors)
        problem = org.code_problem(v["code"])
        if problem:
            errors.append(row.error("code", problem[1], problem[0]))
        if not v["name"] or len(v["name"]) > 200:
            errors.append(row.error("name", "单位名称不能为空且不超过 200 字", "a name of 1-200 characters is needed"))
        kind = org.resolve_kind(v["kind"])
        if kind is None:
            errors.append(row.error("kind", "类型应为：市、乡镇/街道、村/社区、网格、职能部门",
                                    f"kind must be one of {', '.join(org.KINDS)}"))
        if v["code"] in plans:
            errors.append(row.error("code", f"单位编码与第 {plans[v['code']].row.number} 行重复",
                                    f"duplicate code, also on row {plans[v['code']].row.number}"))
            continue
        if len(errors) > bad and (problem or not v["code"]):
            continue
        plans[v["code"]] = UnitPlan(row, v["code"], v["name"], kind or "", v.get("parent") or None,
                                    existing=existing.get(v["code"]))
    for plan in plans.values():
        _unit_path(plan, plans, existing, errors, set())
    for plan in plans.values():
        if plan.path is None or not plan.kind:
            continue
        row = plan.row
        if plan.existing is not None:
            unit = plan.existing
            if not org.in_scope(unit.path, scope_path):
                errors.append(row.error("code", "单位编码已被占用", "the code is taken by a unit outside your area"))
            elif unit.kind != plan.kind or plan.path != unit.path:
                errors.append(row.error("parent" if plan.path != unit.path else "kind",
                                        "导入不会移动单位或更改其类型，请在单位管理中操作",
                                        "an import does not move units or change their kind; use the admin API"))
            continue
        if not org.in_scope(plan.path, scope_path):
            errors.append(row.error("parent", "上级单位不在您的管辖范围内", "the parent unit is outside your area"))
            continue
        if len(plan.path) > org.MAX_PATH:
            errors.append(row.error("code", "单位层级路径过长", "the unit's path is too long"))
        parent_kind = _parent_kind(plan, plans, existing)
        problem = org.placement_problem(plan.kind, parent_kind)
        if problem:
            errors.append(row.error("kind", problem[1], problem[0]))
    return plans


def _unit_path(plan: UnitPlan, plans: dict[str, UnitPlan], existing: dict[str, OrgUnit], errors: list[RowError],
               visiting: set[str]) -> str | None:
    """The path the unit will have; parents may come later in the file. None when it cannot be known."""
    if plan.path is not None:
        return plan.path
    if plan.code in visiting:
        errors.append(plan.row.error("parent", "上级编码形成了循环", "the parent codes form a cycle"))
        return None
    if plan.parent is None:
        plan.path = org.child_path(None, plan.code)
        return plan.path
    visiting.add(plan.code)
    try:
        if plan.parent in plans:
            parent_path = _unit_path(plans[plan.parent], plans, existing, errors, visiting)
        elif plan.parent in existing:
            parent_path = existing[plan.parent].path
        else:
            errors.append(plan.row.error("parent", f"上级编码“{plan.parent}”不存在", f"unknown parent code {plan.parent}"))
            return None
    finally:
        visiting.discard(plan.code)
    plan.path = org.child_path(parent_path, plan.code) if parent_path else None
    return plan.path


def _parent_kind(plan: UnitPlan, plans: dict[str, UnitPlan], existing: dict[str, OrgUnit]) -> str | None:
    if plan.parent is None:
        return None
    parent = plans.get(plan.parent)
    return parent.kind if parent is not None else existing[plan.parent].kind


def _check_users(session: Session, rows: list[Row], units: dict[str, UnitPlan], catalogue: RoleCatalogue,
                 scope_path: str, actor: str, errors: list[RowError]) -> list[UserPlan]:
    if not rows:
        return []
    db_units = {u.code: u.path for u in session.scalars(select(OrgUnit))}
    existing = {u.username: u for u in session.scalars(select(User))}
    seen: dict[str, int] = {}
    plans = []
    for row in rows:
        v = row.values
        bad = len(errors)
        problem = org.username_problem(v["username"])
        if problem:
            errors.append(row.error("username", problem[1], problem[0]))
        elif v["username"] in seen:
            errors.append(row.error("username", f"用户名与第 {seen[v['username']]} 行重复",
                                    f"duplicate username, also on row {seen[v['username']]}"))
        seen.setdefault(v["username"], row.number)
        if not v["display_name"] or len(v["display_name"]) > 200:
            errors.append(row.error("display_name", "姓名不能为空且不超过 200 字", "a name of 1-200 characters is needed"))
        unit_path = units[v["unit"]].path if v["unit"] in units else db_units.get(v["unit"])
        if not v["unit"] or (unit_path is None and v["unit"] not in units):
            errors.append(row.error("unit", f"单位编码“{v['unit']}”不存在", f"unknown unit code {v['unit']!r}"))
        elif unit_path is not None and not org.in_scope(unit_path, scope_path):
            errors.append(row.error("unit", "该单位不在您的管辖范围内", "the unit is outside your area"))
        names = [n.strip() for n in tabular.SEPARATORS.split(v["roles"]) if n.strip()]
        roles, unknown = org.resolve_roles(catalogue, names)
        if unknown:
            errors.append(row.error("roles", f"未知角色：{'、'.join(unknown)}", f"unknown roles: {', '.join(unknown)}"))
        elif not roles:
            errors.append(row.error("roles", "至少需要一个角色", "at least one role is needed"))
        active_text = v.get("active", "").strip().lower()
        active = None if not active_text else (True if active_text in TRUE else False if active_text in FALSE else None)
        if active_text and active is None:
            errors.append(row.error("active", "启用列应填“是”或“否”", "active must be yes or no"))
        user = existing.get(v["username"])
        password = v.get("password") or None
        if user is not None and not org.in_scope(user.unit.path, scope_path):
            errors.append(row.error("username", "用户名已被占用", "the username is taken by a user outside your area"))
        elif user is None and password:
            problem = auth.password_problem(password, v["username"])
            if problem:
                errors.append(row.error("password", problem[1], problem[0]))
        if user is not None and user.username == actor and (active is False or "admin" not in roles):
            errors.append(row.error("roles", "不能停用自己的账号或取消自己的管理员角色",
                                    "you cannot deactivate yourself or drop your own admin role"))
        if len(errors) == bad:
            plans.append(UserPlan(row, v["username"], v["display_name"], v["unit"], roles, active, password, user))
    return plans


# --- writing ---------------------------------------------------------------------------------

def apply(session: Session, plan: Plan, hashes: dict[str, str], actor: str, now: datetime,
          result: ImportResult) -> None:
    by_code = {u.code: u for u in session.scalars(select(OrgUnit))}
    # Parents before children: a path is longer than its parent's.
    for unit_plan in sorted(plan.units, key=lambda p: (p.path or "").count("/")):
        unit = unit_plan.existing
        if unit is None:
            parent = by_code[unit_plan.parent] if unit_plan.parent else None
            unit = OrgUnit(code=unit_plan.code, name=unit_plan.name, kind=unit_plan.kind,
                           parent_id=parent.id if parent else None, path=unit_plan.path)
            session.add(unit)
            session.flush()
            by_code[unit.code] = unit
            org.record(session, now, actor, "unit.create", "unit", unit.id, unit.path,
                          after=org.unit_snapshot(unit))
            result.units.created += 1
        elif unit.name != unit_plan.name:
            before = org.unit_snapshot(unit)
            unit.name = unit_plan.name
            org.record(session, now, actor, "unit.update", "unit", unit.id, unit.path, before,
                          org.unit_snapshot(unit))
            result.units.updated += 1
        else:
            result.units.unchanged += 1
    for user_plan in plan.users:
        unit = by_code[user_plan.unit]
        user = user_plan.existing
        if user is None:
            user = User(username=user_plan.username, display_name=user_plan.display_name,
                        password_hash=hashes[user_plan.username], unit_id=unit.id, unit=unit,
                        active=True if user_plan.active is None else user_plan.active,
                        must_change_password=True, created_at=now)
            user.role_links = [UserRole(role_code=code) for code in user_plan.roles]
            session.add(user)
            session.flush()
            org.record(session, now, actor, "user.create", "user", user.id, unit.path,
                          after=org.user_snapshot(user))
            result.users.created += 1
            continue
        before = org.user_snapshot(user)
        user.display_name = user_plan.display_name
        user.unit_id, user.unit = unit.id, unit
        if user_plan.active is not None:
            user.active = user_plan.active
            if not user.active:
                auth.revoke_tokens(session, user.id, now)
        kept = [link for link in user.role_links if link.role_code in user_plan.roles]
        user.role_links = kept + [UserRole(role_code=c) for c in user_plan.roles
                                  if c not in {k.role_code for k in kept}]
        session.flush()
        after = org.user_snapshot(user)
        if after != before:
            org.record(session, now, actor, "user.update", "user", user.id, unit.path, before, after)
            result.users.updated += 1
        else:
            result.users.unchanged += 1


def run(svc: Services, sources: list[tuple[str, bytes]], actor: str, scope_path: str, dry_run: bool) -> ImportResult:
    """Read, check and (unless a dry run) import; raises ImportInvalid listing every bad row."""
    tables, errors = read_sources(sources)
    if errors:
        raise ImportInvalid(errors)
    result = ImportResult(dry_run=dry_run)
    with svc.db.read() as session:
        plan = check(session, tables, svc.roles, scope_path, actor)
        if plan.errors:
            raise ImportInvalid(plan.errors)
        new_users = [p for p in plan.users if p.existing is None]
        if dry_run:
            _count_dry_run(plan, result)
            return result
    passwords = {p.username: p.password or auth.generate_password() for p in new_users}
    result.passwords = [{"username": p.username, "temporary_password": passwords[p.username]}
                        for p in new_users if not p.password]
    # argon2 is slow on purpose; hash in parallel (it releases the GIL) and outside the write lock.
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = dict(zip(passwords, pool.map(auth.hash_password, passwords.values())))
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        # Checked again inside the transaction: the tables may have changed since the first check.
        plan = check(session, tables, svc.roles, scope_path, actor)
        if plan.errors:
            raise ImportInvalid(plan.errors)
        for user_plan in plan.users:
            if user_plan.existing is None and user_plan.username not in hashes:
                hashes[user_plan.username] = auth.hash_password(user_plan.password or auth.generate_password())
        apply(session, plan, hashes, actor, now, result)
        org.record(session, now, actor, "import", "import", None, scope_path,
                      after={"files": [name for name, _ in sources], **result.as_dict(), "passwords": None})
    return result


def _count_dry_run(plan: Plan, result: ImportResult) -> None:
    for unit_plan in plan.units:
        if unit_plan.existing is None:
            result.units.created += 1
        elif unit_plan.existing.name != unit_plan.name:
            result.units.updated += 1
        else:
            result.units.unchanged += 1
    for user_plan in plan.users:
        user = user_plan.existing
        if user is None:
            result.users.created += 1
        elif (user.display_name != user_plan.display_name or user.unit.code != user_plan.unit
              or sorted(user.roles) != sorted(user_plan.roles)
              or (user_plan.active is not None and user.active != user_plan.active)):
            result.users.updated += 1
        else:
            result.users.unchanged += 1

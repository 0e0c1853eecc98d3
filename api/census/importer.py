"""Import of the grid census (人、房、地、事、物、组织) from CSV and Excel (.xlsx).

The layout is the ledger local offices keep: one sheet per kind, Chinese headers (English
accepted too), see ``ledger.PEOPLE`` and ``ledger.ITEM_KINDS``. A sheet's kind is told by its header row (people
by 姓名, houses by 房屋地址, land by 地块名称, events by 事件名称, things by 设施名称,
organisations by 组织名称); other sheets (instructions) are skipped. A CSV file holds one kind.

Every row is checked first and any bad row fails the whole import with each bad row listed (file,
sheet, row number as the spreadsheet shows it, column, reason); a good import runs in one
transaction. A dry run works out the same plan and counts without writing.

A person is matched by the identity hash of their ID number, every other item by (kind, grid,
name), so re-importing a file updates rather than duplicates; every create and update writes a
``census_changes`` row. Writes are bulk inserts and updates in batches (no query per row), and
files are read row by row (``api.core.tabular``), so 50,000 rows import in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api.core import tabular
from api.core.models import OrgUnit
from api.core.org import in_scope
from api.core.pii import FIELDS as PII_FIELDS, Vault, is_sealed, mask, masked
from api.core.services import Services
from api.core.tabular import MAX_ROWS, ImportInvalid, RowError

from .ledger import ITEM_KINDS, NO, PEOPLE, PHONE, USCC, YES, Column, Kind, id_problem, spellings
from .service import FLAGS, CensusChange, CensusItem, CensusPerson

BATCH = 1000


# --- reading ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Row:
    file: str
    sheet: str | None
    number: int
    values: dict[str, str]
    kind: Kind

    def error(self, column: str | None, message: str, detail: str) -> RowError:
        zh = next((c.zh for c in self.kind.columns if c.field == column), column)
        return RowError(self.file, self.sheet, self.number, zh, message, detail)


def read_sources(sources: Iterable[tuple[str, bytes]]) -> tuple[list[Row], list[RowError]]:
    rows: list[Row] = []
    errors: list[RowError] = []
    for name, content in sources:
        found = False
        try:
            for sheet in tabular.sheets(name, content):
                found = _read_sheet(sheet, rows, errors) or found  # other sheets (notes) are skipped
        except tabular.Unreadable as exc:
            errors.append(RowError(name, None, 0, None, exc.message, exc.detail))
            continue
        if not found:
            errors.append(RowError(name, None, 1, None, "未找到可导入的表：表头应包含“姓名、身份证号、网格编码”，或房屋地址、"
                                   "地块名称、事件名称、设施名称、组织名称之一及网格编码",
                                   "no sheet has a census header row (people, houses, land, events, things, "
                                   "organisations)"))
        if len(rows) > MAX_ROWS:
            break
    if len(rows) > MAX_ROWS:
        errors.append(RowError("", None, 0, None, f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows at once"))
    return rows, errors


def _kind_of(header: list[str]) -> tuple[Kind, dict[str, int]] | None:
    people = tabular.map_header(header, spellings(PEOPLE))
    if "name" in people and ("id_no" in people or "grid" in people):
        return PEOPLE, people
    for kind in ITEM_KINDS.values():
        columns = tabular.map_header(header, spellings(kind))
        if "name" in columns:
            return kind, columns
    return None


def _read_sheet(sheet: tabular.Sheet, rows: list[Row], errors: list[RowError]) -> bool:
    """Rows of one sheet; False when its header is not a census header."""
    found = _kind_of(sheet.header)
    if found is None:
        return False
    kind, columns = found
    missing = [c.zh for c in kind.columns if c.required and c.field not in columns]
    if missing:
        errors.append(RowError(sheet.file, sheet.title, 1, None, f"缺少列：{'、'.join(missing)}",
                               f"missing columns: {', '.join(missing)}"))
        return True
    for number, cells in sheet.rows:
        rows.append(Row(sheet.file, sheet.title, number, tabular.values(cells, columns), kind))
        if len(rows) > MAX_ROWS:
            break
    return True


# --- checking --------------------------------------------------------------------------------

@dataclass(slots=True)
class PersonPlan:
    row: Row
    values: dict[str, Any]   # name, id_no, phone, grid_path, address, flags
    head: str
    id_hash: str = ""


@dataclass(slots=True)
class ItemPlan:
    row: Row
    kind: str
    grid_path: str
    name: str
    attributes: dict[str, Any]   # plain; sealed when written


def _check_cell(row: Row, column: Column, text: str, errors: list[RowError]) -> Any:
    """The cell's value (typed), or None after adding its error."""
    zh = column.zh
    if not text:
        if column.required:
            errors.append(row.error(column.field, f"{zh}不能为空", f"{column.field} is required"))
            return None
        return "" if column.type in ("text", "id_no", "phone", "uscc") else None
    if len(text) > column.max_len:
        errors.append(row.error(column.field, f"{zh}不超过 {column.max_len} 字", f"{column.field} is too long"))
        return None
    if column.choices and column.field != "flags" and text not in column.choices:
        errors.append(row.error(column.field, f"{zh}应为：{'、'.join(column.choices)}，“{text}”无法识别",
                                f"{column.field} must be one of {', '.join(column.choices)}"))
        return None
    if column.type == "id_no":
        value = text.replace(" ", "").upper()
        problem = id_problem(value)
        if problem:
            errors.append(row.error(column.field, problem[1], problem[0]))
            return None
        return value
    if column.type == "phone":
        value = text.replace(" ", "")
        if not PHONE.match(value):
            errors.append(row.error(column.field, "电话应为 11 位手机号或带区号的固定电话", "a mobile or landline number"))
            return None
        return value
    if column.type == "number":
        try:
            value = float(text.replace(",", ""))
            if value < 0 or value != value or value == float("inf"):
                raise ValueError
        except ValueError:
            errors.append(row.error(column.field, f"{zh}应为不小于 0 的数字", f"{column.field} must be a number >= 0"))
            return None
        return int(value) if value.is_integer() else value
    if column.type == "bool":
        if text.lower() in YES:
            return True
        if text.lower() in NO:
            return False
        errors.append(row.error(column.field, f"{zh}应填“是”或“否”", f"{column.field} must be yes or no"))
        return None
    if column.type == "date":
        try:
            return date.fromisoformat(text[:10].replace("/", "-")).isoformat()
        except ValueError:
            errors.append(row.error(column.field, f"{zh}应为日期，如 2026-03-01", f"{column.field} must be a date"))
            return None
    if column.type == "uscc":
        value = text.replace(" ", "").upper()
        if not USCC.match(value):
            errors.append(row.error(column.field, f"{zh}应为 18 位统一社会信用代码", "an 18-character USCC is needed"))
            return None
        return value
    return text


def check(session: Session, rows: list[Row], scope_path: str,
          vault: Vault) -> tuple[list[PersonPlan], list[ItemPlan], list[RowError]]:
    """Every problem of every row, against the database as it is now; and the plans of the good rows."""
    errors: list[RowError] = []
    grids = {code: path for code, path in session.execute(select(OrgUnit.code, OrgUnit.path)
                                                           .where(OrgUnit.kind == "grid"))}
    seen_ids: dict[str, int] = {}
    seen_items: dict[tuple[str, str, str], int] = {}
    people: list[PersonPlan] = []
    items: list[ItemPlan] = []
    for row in rows:
        bad = len(errors)
        typed = {c.field: _check_cell(row, c, row.values.get(c.field, ""), errors)
                 for c in row.kind.columns if c.field not in ("grid", "flags")}
        grid_code = row.values.get("grid", "")
        grid_path = grids.get(grid_code)
        if not grid_code:
            errors.append(row.error("grid", "网格编码不能为空", "grid is required"))
        elif grid_path is None or not in_scope(grid_path, scope_path):
            errors.append(row.error("grid", f"网格编码“{grid_code}”不存在或不在您的管辖范围内",
                                    "unknown grid code, or outside your area"))
        if row.kind is PEOPLE:
            flags = [f.strip() for f in tabular.SEPARATORS.split(row.values.get("flags", "")) if f.strip()]
            unknown = [f for f in flags if f not in FLAGS]
            if unknown:
                errors.append(row.error("flags", f"人员类别应为：{'、'.join(FLAGS)}（多个用;分隔），“{'、'.join(unknown)}”无法识别",
                                        f"unknown categories {unknown}"))
            id_no = typed.get("id_no")
            if id_no and id_no in seen_ids:
                errors.append(row.error("id_no", f"身份证号与第 {seen_ids[id_no]} 行重复",
                                        f"duplicate ID number, also on row {seen_ids[id_no]}"))
            elif id_no:
                seen_ids[id_no] = row.number
            if len(errors) == bad:
                people.append(PersonPlan(row, {"name": typed["name"], "id_no": id_no, "phone": typed["phone"],
                                               "grid_path": grid_path, "address": typed["address"], "flags": flags},
                                         typed["head"]))
            continue
        key = (row.kind.kind, grid_path or grid_code, typed.get("name") or "")
        if typed.get("name") and key in seen_items:
            errors.append(row.error("name", f"同一网格中与第 {seen_items[key]} 行重复",
                                    f"duplicate in this grid, also on row {seen_items[key]}"))
        elif typed.get("name"):
            seen_items[key] = row.number
        if len(errors) == bad:
            items.append(ItemPlan(row, row.kind.kind, grid_path, typed["name"], _attributes(row.kind, typed)))
    # A person already registered outside the caller's area cannot be taken over by an import.
    by_hash = {}
    for plan in people:
        plan.id_hash = vault.identity_hash(plan.values["id_no"])
        by_hash[plan.id_hash] = plan
    keys = list(by_hash)
    for start in range(0, len(keys), 500):
        for id_hash, grid_path in session.execute(select(CensusPerson.id_hash, CensusPerson.grid_path).where(
                CensusPerson.id_hash.in_(keys[start:start + 500]))):
            if not in_scope(grid_path, scope_path):
                errors.append(by_hash[id_hash].row.error("id_no", "此人已登记在您管辖范围以外的网格",
                                                         "this person is registered in a grid outside your area"))
    errors.sort(key=lambda e: (e.file, e.sheet or "", e.row))
    return people, items, errors


def _attributes(kind: Kind, typed: dict[str, Any]) -> dict[str, Any]:
    """The item's attributes from its typed cells; empty cells are left out."""
    out: dict[str, Any] = {}
    for column in kind.columns:
        value = typed.get(column.field)
        if not column.attr or value is None or value == "":
            continue
        target = out
        for part in column.attr[:-1]:
            target = target.setdefault(part, {})
        target[column.attr[-1]] = value
    return out


# --- applying --------------------------------------------------------------------------------

@dataclass
class Result:
    dry_run: bool
    rows: int = 0
    people: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    households_created: int = 0
    items: dict[str, dict[str, int]] = field(default_factory=lambda: {
        k: {"created": 0, "updated": 0, "unchanged": 0} for k in ITEM_KINDS})

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rows": self.rows, "people": self.people,
                "households_created": self.households_created, "items": self.items}


@dataclass
class _Writer:
    """Collects what an import writes and writes it in batches (nothing when ``session`` is None)."""
    session: Session | None
    vault: Vault
    actor: str
    now: datetime
    changes: list[dict[str, Any]] = field(default_factory=list)

    def change(self, target_type: str, target_id: int, grid_path: str, action: str, before, after) -> None:
        self.changes.append({"target_type": target_type, "target_id": target_id, "grid_path": grid_path,
                             "action": action, "actor": self.actor, "at": self.now, "before": before, "after": after})
        if len(self.changes) >= BATCH:
            self.flush()

    @property
    def dry_run(self) -> bool:
        return self.session is None

    def seal(self, kind: str, value: str) -> dict[str, Any] | str:
        """A personal value sealed for writing; a dry run does not pay for the encryption."""
        return value if self.dry_run else self.vault.seal({kind: value})[kind]

    def seal_all(self, data: dict[str, Any]) -> dict[str, Any]:
        return data if self.dry_run else self.vault.seal(data)

    def flush(self) -> None:
        if self.session is not None and self.changes:
            self.session.execute(insert(CensusChange.__table__), self.changes)
        self.changes = []

    def insert_returning_ids(self, model, rows: list[dict[str, Any]]) -> list[int]:
        if self.session is None or not rows:
            return [-(i + 1) for i in range(len(rows))]  # a dry run: placeholders
        table = model.__table__  # Core insert: one multi-row INSERT … RETURNING per batch, no ORM bookkeeping
        return list(self.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))

    def update_by_id(self, model, rows: list[dict[str, Any]]) -> None:
        if self.session is not None and rows:
            self.session.execute(update(model), rows)


def run(svc: Services, sources: list[tuple[str, bytes]], actor: str, scope_path: str, dry_run: bool,
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Read, check and import in one transaction (a dry run writes nothing); raises ImportInvalid
    listing every bad row. ``progress(done, total)`` is called after each batch of rows."""
    rows, errors = read_sources(sources)
    if errors:
        raise ImportInvalid(errors)
    now = svc.clock.now()
    if dry_run:
        with svc.db.read() as session:
            return _plan_and_write(session, None, rows, svc.vault, actor, scope_path, now, progress)
    with svc.db.write() as session, session.begin():
        return _plan_and_write(session, session, rows, svc.vault, actor, scope_path, now, progress)


def _plan_and_write(session: Session, target: Session | None, rows: list[Row], vault: Vault, actor: str,
                    scope_path: str, now: datetime, progress: Callable[[int, int], None] | None) -> Result:
    """Check inside the transaction that writes (so the plan matches the data it changes), then write
    into ``target`` (None: a dry run, only counted)."""
    people, items, errors = check(session, rows, scope_path, vault)
    if errors:
        raise ImportInvalid(errors)
    result = Result(dry_run=target is None, rows=len(rows))
    writer = _Writer(target, vault, actor, now)
    total = len(people) + len(items)
    done = _apply_people(session, writer, people, result, lambda n: progress and progress(n, total))
    _apply_items(session, writer, items, result, lambda n: progress and progress(done + n, total))
    writer.flush()
    return result


def _chunks(values: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _apply_people(session: Session, writer: _Writer, plans: list[PersonPlan], result: Result,
                  progress: Callable[[int], Any]) -> int:
    vault, now = writer.vault, writer.now
    existing: dict[str, _Known] = {}
    hashes = [p.id_hash for p in plans]
    for chunk in _chunks(hashes, 500):
        for row in session.execute(select(*_KNOWN_COLUMNS).where(CensusPerson.id_hash.in_(chunk))):
            existing[row.id_hash] = _Known(row.id, row.grid_path, row.name, masked(row.id_no),
                                           row.phone.get("hash") if row.phone else None,
                                           masked(row.phone) if row.phone else None, row.household_id,
                                           row.address, list(row.flags))
    household_ids = _households(session, writer, plans, result)
    done = 0
    for chunk in _chunks(plans):
        new_rows, new_plans, updates = [], [], []
        for plan in chunk:
            values = plan.values
            household_id = household_ids.get((values["grid_path"], values["address"], plan.head))
            person = existing.get(plan.id_hash)
            if person is None:
                new_plans.append(plan)
                new_rows.append({"grid_path": values["grid_path"], "name": values["name"],
                                 "id_no": writer.seal("id_no", values["id_no"]), "id_hash": plan.id_hash,
                                 "phone": writer.seal("phone", values["phone"]) if values["phone"] else None,
                                 "household_id": household_id, "address": values["address"],
                                 "flags": [f for f in FLAGS if f in values["flags"]],
                                 "created_at": now, "updated_at": now})
                continue
            changed = _person_changes(person, values, household_id, vault)
            if not changed:
                result.people["unchanged"] += 1
                continue
            result.people["updated"] += 1
            before = person.snapshot()
            after = {**before, **{k: (mask(k, _normal(v)) if k == "phone" and v else v) for k, v in changed.items()}}
            if "phone" in changed and changed["phone"]:
                changed["phone"] = writer.seal("phone", changed["phone"])
            updates.append({"id": person.id, **changed, "updated_at": now})
            writer.change("person", person.id, after["grid_path"], "update", before, after)
        ids = writer.insert_returning_ids(CensusPerson, new_rows)
        writer.update_by_id(CensusPerson, updates)
        result.people["created"] += len(new_rows)
        for person_id, row in zip(ids, new_rows):
            if writer.dry_run:
                continue
            writer.change("person", person_id, row["grid_path"], "create", None, {
                "id": person_id, "grid_path": row["grid_path"], "name": row["name"], "id_no": masked(row["id_no"]),
                "phone": masked(row["phone"]) if row["phone"] else None, "household_id": row["household_id"],
                "address": row["address"], "flags": row["flags"]})
        done += len(chunk)
        progress(done)
    return done


@dataclass(slots=True)
class _Known:
    """What an import needs of a registered person: no encrypted values (50,000 of them add up)."""
    id: int
    grid_path: str
    name: str
    id_no: str            # masked
    phone_hash: str | None
    phone: str | None     # masked
    household_id: int | None
    address: str
    flags: list[str]

    def snapshot(self) -> dict[str, Any]:  # as api.census.service.person_snapshot
        return {"id": self.id, "grid_path": self.grid_path, "name": self.name, "id_no": self.id_no,
                "phone": self.phone, "household_id": self.household_id, "address": self.address,
                "flags": list(self.flags)}


_KNOWN_COLUMNS = (CensusPerson.id, CensusPerson.id_hash, CensusPerson.grid_path, CensusPerson.name,
                  CensusPerson.id_no, CensusPerson.phone, CensusPerson.household_id, CensusPerson.address,
                  CensusPerson.flags)


def _person_changes(person: _Known, values: dict[str, Any], household_id: int | None,
                    vault: Vault) -> dict[str, Any]:
    """The columns an import changes on an existing person (phone in plain text)."""
    wanted = {"name": values["name"], "grid_path": values["grid_path"], "address": values["address"],
              "household_id": household_id, "flags": [f for f in FLAGS if f in values["flags"]]}
    changed = {k: v for k, v in wanted.items() if getattr(person, k) != v}
    current = person.phone_hash
    phone = values["phone"] or None
    if (phone is None and current is not None) or (phone is not None and current != vault.identity_hash(phone)):
        changed["phone"] = phone
    return changed


def _households(session: Session, writer: _Writer, plans: list[PersonPlan], result: Result) -> dict[tuple, int]:
    """(grid, address, head) → household id, creating (with history) the households that are new."""
    wanted: dict[tuple[str, str, str], None] = {}
    for plan in plans:
        if plan.values["address"] or plan.head:
            wanted.setdefault((plan.values["grid_path"], plan.values["address"], plan.head), None)
    ids: dict[tuple[str, str, str], int] = {}
    grids = sorted({key[0] for key in wanted})
    for chunk in _chunks(grids, 200):
        for item_id, grid_path, attributes in session.execute(
                select(CensusItem.id, CensusItem.grid_path, CensusItem.attributes)
                .where(CensusItem.kind == "household", CensusItem.grid_path.in_(chunk))):
            ids.setdefault((grid_path, attributes.get("address", ""), attributes.get("head", "")), item_id)
    new = [key for key in wanted if key not in ids]
    result.households_created = len(new)
    for chunk in _chunks(new):
        rows = [{"kind": "household", "grid_path": grid_path, "name": f"{head or '?'}户 {address}".strip()[:200],
                 "attributes": {"address": address, "head": head}, "created_at": writer.now, "updated_at": writer.now}
                for grid_path, address, head in chunk]
        for key, item_id, row in zip(chunk, writer.insert_returning_ids(CensusItem, rows), rows):
            ids[key] = item_id
            writer.change("item", item_id, row["grid_path"], "create", None, {
                "id": item_id, "kind": "household", "grid_path": row["grid_path"], "name": row["name"],
                "attributes": row["attributes"]})
    return ids


def _apply_items(session: Session, writer: _Writer, plans: list[ItemPlan], result: Result,
                 progress: Callable[[int], Any]) -> None:
    vault, now = writer.vault, writer.now
    existing: dict[tuple[str, str, str], CensusItem] = {}
    pairs = sorted({(p.kind, p.grid_path) for p in plans})
    for kind in sorted({k for k, _ in pairs}):
        grids = [g for k, g in pairs if k == kind]
        for chunk in _chunks(grids, 200):
            for item in session.scalars(select(CensusItem).where(CensusItem.kind == kind,
                                                                 CensusItem.grid_path.in_(chunk))):
                existing.setdefault((item.kind, item.grid_path, item.name), item)
    done = 0
    for chunk in _chunks(plans):
        new_rows, updates = [], []
        for plan in chunk:
            counts = result.items[plan.kind]
            item = existing.get((plan.kind, plan.grid_path, plan.name))
            if item is None:
                counts["created"] += 1
                new_rows.append({"kind": plan.kind, "grid_path": plan.grid_path, "name": plan.name,
                                 "attributes": writer.seal_all(plan.attributes), "created_at": now, "updated_at": now})
                continue
            if _fingerprint(item.attributes, vault) == _fingerprint(plan.attributes, vault):
                counts["unchanged"] += 1
                continue
            counts["updated"] += 1
            sealed = writer.seal_all(plan.attributes)
            before = _item_view(item.id, item.kind, item.grid_path, item.name, item.attributes)
            updates.append({"id": item.id, "attributes": sealed, "updated_at": now})
            writer.change("item", item.id, item.grid_path, "update", before,
                          _item_view(item.id, item.kind, item.grid_path, item.name, sealed))
        for item_id, row in zip(writer.insert_returning_ids(CensusItem, new_rows), new_rows):
            writer.change("item", item_id, row["grid_path"], "create", None,
                          _item_view(item_id, row["kind"], row["grid_path"], row["name"], row["attributes"]))
        writer.update_by_id(CensusItem, updates)
        done += len(chunk)
        progress(done)


def _item_view(item_id: int, kind: str, grid_path: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"id": item_id, "kind": kind, "grid_path": grid_path, "name": name, "attributes": masked(attributes)}


def _fingerprint(data: Any, vault: Vault) -> Any:
    """Attributes comparable whether sealed or plain: personal values become their identity hash."""
    if is_sealed(data):
        return ("pii", data.get("hash"))
    if isinstance(data, dict):
        return {k: ("pii", vault.identity_hash(str(v))) if k in PII_FIELDS and isinstance(v, (str, int)) and v != ""
                else _fingerprint(v, vault) for k, v in data.items()}
    if isinstance(data, list):
        return [_fingerprint(v, vault) for v in data]
    return data


def _normal(text: str) -> str:
    return "".join(text.split()).upper()

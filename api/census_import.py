"""Import of census people and households from CSV and Excel (.xlsx), and export back to Excel.

The layout is the form local offices use (Chinese headers; English accepted too), see
``COLUMNS``: one row per person, the household given by its head (户主) and address (地址), the
grid by its unit code (网格编码). As for the organisation import (``api.importer``), every row is
checked first and any bad row fails the whole import with each bad row listed (file, sheet, row
number as the spreadsheet shows it, column, reason); a good import runs in one transaction. A dry
run applies the rows in a transaction that is rolled back, so its counts are exact.

A person is matched by the identity hash of their ID number, so re-importing a file updates
people rather than duplicating them; every create and update writes a ``census_changes`` row.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .census import FLAGS, CensusItem, CensusPerson, household_for, save_person
from .importer import MAX_ROWS, ROLE_SEPARATORS, ImportInvalid, RowError, _cell, _header_key, _map_header
from .models import OrgUnit
from .people import in_scope
from .pii import Vault, masked
from .services import Services

COLUMNS = {
    "name": ("姓名", "name"),
    "id_no": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "id_no"),
    "phone": ("电话", "联系电话", "手机", "手机号", "手机号码", "phone"),
    "head": ("户主", "户主姓名", "household_head", "head"),
    "address": ("地址", "住址", "现住址", "居住地址", "address"),
    "grid": ("网格编码", "网格", "所属网格", "grid_code", "grid"),
    "flags": ("人员类别", "人员类型", "类别", "flags", "category"),
}
REQUIRED = ("name", "id_no", "grid")
COLUMN_ZH = {"name": "姓名", "id_no": "身份证号", "phone": "电话", "head": "户主", "address": "地址",
             "grid": "网格编码", "flags": "人员类别"}
EXPORT_HEADER = ["姓名", "身份证号", "电话", "户主", "地址", "网格编码", "人员类别"]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")


def id_problem(value: str) -> tuple[str, str] | None:
    """A mainland resident ID number (GB 11643): 18 characters with a valid check digit."""
    text = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return "an 18-character resident ID number is needed", "身份证号应为 18 位（末位可为 X）"
    if _CHECK[sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS)) % 11] != text[17]:
        return "the ID number's check digit is wrong", "身份证号校验位不正确，请核对"
    return None


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
class Result:
    dry_run: bool
    rows: int = 0
    people: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    households_created: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rows": self.rows, "people": self.people,
                "households_created": self.households_created}


# --- reading ---------------------------------------------------------------------------------

def read_sources(sources: Iterable[tuple[str, bytes]]) -> tuple[list[Row], list[RowError]]:
    rows: list[Row] = []
    errors: list[RowError] = []
    for name, content in sources:
        lower = name.lower()
        if lower.endswith(".csv"):
            _read_csv(name, content, rows, errors)
        elif lower.endswith(".xlsx"):
            _read_xlsx(name, content, rows, errors)
        else:
            errors.append(RowError(name, None, 0, None, "只能导入 .csv 或 .xlsx 文件", "only .csv and .xlsx files"))
    if len(rows) > MAX_ROWS:
        errors.append(RowError("", None, 0, None, f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows at once"))
    return rows, errors


def _read_csv(name: str, content: bytes, rows: list[Row], errors: list[RowError]) -> None:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        errors.append(RowError(name, None, 0, None, "文件编码无法识别，请另存为 UTF-8 CSV", "not UTF-8 or GBK text"))
        return
    try:
        cells = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        errors.append(RowError(name, None, 0, None, "CSV 格式有误", f"malformed CSV: {exc}"))
        return
    if not _table(name, None, cells, rows, errors):
        errors.append(RowError(name, None, 1, None, "无法识别表头：应包含“姓名、身份证号、网格编码”",
                               "the header row needs 姓名, 身份证号 and 网格编码"))


def _read_xlsx(name: str, content: bytes, rows: list[Row], errors: list[RowError]) -> None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        errors.append(RowError(name, None, 0, None, "无法读取该 Excel 文件，请确认是 .xlsx 格式",
                               "not a readable .xlsx workbook"))
        return
    found = False
    try:
        for sheet in workbook.worksheets:
            cells = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            found = _table(name, sheet.title, cells, rows, errors) or found  # other sheets (notes) are skipped
    finally:
        workbook.close()
    if not found:
        errors.append(RowError(name, None, 1, None, "未找到可导入的工作表：表头应包含“姓名、身份证号、网格编码”",
                               "no sheet has a census header row"))


def _table(name: str, sheet: str | None, cells: list[list[str]], rows: list[Row], errors: list[RowError]) -> bool:
    """Rows of one sheet; False when its header is not a census header."""
    if not cells:
        return False
    columns = _map_header([_header_key(c) for c in cells[0]], COLUMNS)
    if "name" not in columns or ("id_no" not in columns and "grid" not in columns):
        return False
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        errors.append(RowError(name, sheet, 1, None, f"缺少列：{'、'.join(COLUMN_ZH[f] for f in missing)}",
                               f"missing columns: {', '.join(missing)}"))
        return True
    for number, line in enumerate(cells[1:], start=2):
        if not any(c.strip() for c in line):
            continue
        rows.append(Row(name, sheet, number, {f: (line[i].strip() if i < len(line) else "")
                                              for f, i in columns.items()}))
    return True


# --- checking --------------------------------------------------------------------------------

@dataclass
class Plan:
    row: Row
    values: dict[str, Any]
    head: str


def check(session: Session, rows: list[Row], scope_path: str, vault: Vault) -> tuple[list[Plan], list[RowError]]:
    errors: list[RowError] = []
    grids = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.kind == "grid"))}
    seen: dict[str, int] = {}
    plans: list[Plan] = []
    for row in rows:
        v = row.values
        bad = len(errors)
        if not v["name"] or len(v["name"]) > 100:
            errors.append(row.error("name", "姓名不能为空且不超过 100 字", "a name of 1-100 characters is needed"))
        id_no = v["id_no"].replace(" ", "").upper()
        problem = id_problem(id_no)
        if problem:
            errors.append(row.error("id_no", problem[1], problem[0]))
        elif id_no in seen:
            errors.append(row.error("id_no", f"身份证号与第 {seen[id_no]} 行重复", f"duplicate ID number, also on row "
                                    f"{seen[id_no]}"))
        else:
            seen[id_no] = row.number
        phone = v.get("phone", "").replace(" ", "")
        if phone and not PHONE.match(phone):
            errors.append(row.error("phone", "电话应为 11 位手机号或带区号的固定电话", "a mobile or landline number"))
        grid = grids.get(v["grid"])
        if grid is None or not in_scope(grid.path, scope_path):
            errors.append(row.error("grid", f"网格编码“{v['grid']}”不存在或不在您的管辖范围内",
                                    "unknown grid code, or outside your area"))
        flags = [f for f in ROLE_SEPARATORS.split(v.get("flags", "")) if f.strip()]
        unknown = [f for f in flags if f.strip() not in FLAGS]
        if unknown:
            errors.append(row.error("flags", f"人员类别应为：{'、'.join(FLAGS)}（多个用;分隔），“{'、'.join(unknown)}”无法识别",
                                    f"unknown categories {unknown}"))
        if len(v.get("address", "")) > 300 or len(v.get("head", "")) > 100:
            errors.append(row.error("address", "地址不超过 300 字，户主不超过 100 字", "address or head too long"))
        if len(errors) > bad:
            continue
        plans.append(Plan(row, {"name": v["name"], "id_no": id_no, "phone": phone, "grid_path": grid.path,
                                "address": v.get("address", ""), "flags": [f.strip() for f in flags]},
                          v.get("head", "")))
    # A person already registered outside the caller's area cannot be taken over by an import.
    hashes = {vault.identity_hash(p.values["id_no"]): p for p in plans}
    keys = list(hashes)
    for start in range(0, len(keys), 500):
        for id_hash, grid_path in session.execute(select(CensusPerson.id_hash, CensusPerson.grid_path).where(
                CensusPerson.id_hash.in_(keys[start:start + 500]))):
            if not in_scope(grid_path, scope_path):
                errors.append(hashes[id_hash].row.error("id_no", "此人已登记在您管辖范围以外的网格",
                                                        "this person is registered in a grid outside your area"))
    errors.sort(key=lambda e: (e.file, e.sheet or "", e.row))
    return plans, errors


class _DryRun(Exception):
    pass


def run(svc: Services, sources: list[tuple[str, bytes]], actor: str, scope_path: str, dry_run: bool,
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Read, check and import (a dry run is rolled back); raises ImportInvalid listing every bad row.
    ``progress(done, total)`` is called after each row is applied."""
    rows, errors = read_sources(sources)
    if errors:
        raise ImportInvalid(errors)
    with svc.db.read() as session:
        plans, errors = check(session, rows, scope_path, svc.vault)
    if errors:
        raise ImportInvalid(errors)
    result = Result(dry_run=dry_run, rows=len(plans))
    now = svc.clock.now()
    try:
        with svc.db.write() as session, session.begin():
            plans, errors = check(session, rows, scope_path, svc.vault)  # again, inside the transaction
            if errors:
                raise ImportInvalid(errors)
            households: dict[tuple[str, str, str], CensusItem] = {}
            for done, plan in enumerate(plans, start=1):
                values = dict(plan.values)
                household, created = household_for(session, now, actor, households, values["grid_path"],
                                                   values["address"], plan.head)
                result.households_created += int(created)
                values["household_id"] = household.id if household else None
                id_hash = svc.vault.identity_hash(values["id_no"])
                existing = session.scalars(select(CensusPerson).where(CensusPerson.id_hash == id_hash)).first()
                _, outcome = save_person(session, svc.vault, now, actor, existing, values)
                result.people[outcome] += 1
                if progress:
                    progress(done, len(plans))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


# --- export ----------------------------------------------------------------------------------

def export_xlsx(session: Session, grid: OrgUnit) -> bytes:
    """The grid's people in the import layout, personal data masked."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(grid.name[:31] or "census")
    sheet.append(EXPORT_HEADER)
    households = {h.id: h for h in session.scalars(select(CensusItem).where(
        CensusItem.kind == "household", CensusItem.grid_path == grid.path))}
    for person in session.scalars(select(CensusPerson).where(CensusPerson.grid_path == grid.path)
                                  .order_by(CensusPerson.id)):
        household = households.get(person.household_id)
        sheet.append([person.name, masked(person.id_no), masked(person.phone) if person.phone else "",
                      household.attributes.get("head", "") if household else "", person.address, grid.code,
                      ";".join(person.flags)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

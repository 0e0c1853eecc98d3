"""Rows of .csv and .xlsx files, sheet by sheet, for the imports (``api.people.importer``, ``api.census.importer``),
and how an import reports its bad rows.

A workbook is read with openpyxl's read-only (streaming) mode and a CSV through ``csv.reader``, and
the rows of a sheet are yielded one at a time, so a 50,000-row file is never held as a grid of cells.
Cells come back as text the way a person typed them (a code typed as 1001 is "1001", not "1001.0").
A file that cannot be read at all raises ``Unreadable`` with a Chinese and an English reason.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator

from .problems import ApiProblem

MAX_ROWS = 50_000
# How people separate several values in one cell (roles, flags).
SEPARATORS = re.compile(r"[;,，；、|\n]+")


class Unreadable(Exception):
    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message  # Chinese, for the person fixing the file
        self.detail = detail    # English


@dataclass
class Sheet:
    file: str
    title: str | None          # None for a CSV file
    header: list[str]          # the first row's cells; empty when the sheet is empty
    rows: Iterator[tuple[int, list[str]]]  # (row number as the spreadsheet shows it, cells), blank rows skipped


def sheets(name: str, content: bytes) -> Iterator[Sheet]:
    """The sheets of one file; read a sheet's rows before asking for the next sheet."""
    lower = name.lower()
    if lower.endswith(".csv"):
        yield _csv_sheet(name, content)
    elif lower.endswith(".xlsx"):
        yield from _xlsx_sheets(name, content)
    else:
        raise Unreadable("只能导入 .csv 或 .xlsx 文件", "only .csv and .xlsx files")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores a code typed as 1001 as 1001.0
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def header_key(text: str) -> str:
    """A header cell compared without spaces and case; a bracketed note and a '*' are ignored
    ("角色（多个用;分隔）*" is "角色")."""
    text = re.split(r"[(（]", text.replace("*", ""), maxsplit=1)[0]
    return re.sub(r"\s+", "", text).lower()


def map_header(header: list[str], spec: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """field → column index, for the fields of ``spec`` (field → accepted spellings) the header names."""
    wanted = {header_key(n): field_name for field_name, names in spec.items() for n in names}
    mapping: dict[str, int] = {}
    for index, text in enumerate(header):
        field_name = wanted.get(header_key(text))
        if field_name is not None and field_name not in mapping:
            mapping[field_name] = index
    return mapping


def values(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    """A row's cells by field, stripped; a short row reads as empty cells."""
    return {f: (cells[i].strip() if i < len(cells) else "") for f, i in columns.items()}


def _csv_sheet(name: str, content: bytes) -> Sheet:
    # Excel on Chinese Windows saves "CSV" as GBK; everything else is UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable("文件编码无法识别，请另存为 UTF-8 CSV", "not UTF-8 or GBK text")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise Unreadable("CSV 格式有误", f"malformed CSV: {exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(reader, start=2):  # records, not lines: a cell may span lines
                if any(c.strip() for c in cells):
                    yield number, cells
        except csv.Error as exc:
            raise Unreadable("CSV 格式有误", f"malformed CSV: {exc}") from None

    return Sheet(name, None, header, rows())


def _xlsx_sheets(name: str, content: bytes) -> Iterator[Sheet]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (zip, XML, key errors) for a file that is not a workbook
        raise Unreadable("无法读取该 Excel 文件，请确认是 .xlsx 格式", "not a readable .xlsx workbook") from None
    try:
        for worksheet in workbook.worksheets:
            try:
                source = worksheet.iter_rows(values_only=True)
                first = next(source, None)
            except Exception:
                raise Unreadable("无法读取该 Excel 文件", "the workbook could not be read") from None
            yield Sheet(name, worksheet.title, [cell(v) for v in first or ()], _xlsx_rows(source))
    finally:
        workbook.close()


def _xlsx_rows(source) -> Iterator[tuple[int, list[str]]]:
    number = 1
    try:
        for raw in source:
            number += 1
            cells = [cell(v) for v in raw]
            if any(c.strip() for c in cells):
                yield number, cells
    except Unreadable:
        raise
    except Exception:
        raise Unreadable("无法读取该 Excel 文件", "the workbook could not be read") from None


@dataclass(frozen=True)
class RowError:
    file: str
    sheet: str | None
    row: int
    column: str | None
    message: str  # Chinese, for the person fixing the file
    detail: str   # English

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.sheet, "row": self.row, "column": self.column,
                "message": self.message, "detail": self.detail}

    def __str__(self) -> str:
        where = self.file + (f"[{self.sheet}]" if self.sheet else "") + f" 第{self.row}行/row {self.row}"
        return f"{where}{f' {self.column}' if self.column else ''}: {self.message} ({self.detail})"


class ImportInvalid(ApiProblem):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(422, f"{len(errors)} bad row(s); nothing was imported",
                         f"导入文件有 {len(errors)} 处错误，未导入任何数据，请修改后重试",
                         errors=[e.as_dict() for e in errors])
        self.errors = errors

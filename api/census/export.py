"""Export of a grid's census back to Excel, in the layout the import reads (``ledger``)."""
from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.models import OrgUnit
from api.core.pii import masked

from .ledger import ITEM_KINDS, PEOPLE, Column, Kind
from .service import CensusItem, CensusPerson


def export_xlsx(session: Session, grid: OrgUnit) -> bytes:
    """The grid's census in the import layout, one sheet per kind, personal data masked."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(PEOPLE.sheet)
    sheet.append([c.zh for c in PEOPLE.columns])
    households = {h.id: h for h in session.scalars(select(CensusItem).where(
        CensusItem.kind == "household", CensusItem.grid_path == grid.path))}
    for person in session.scalars(select(CensusPerson).where(CensusPerson.grid_path == grid.path)
                                  .order_by(CensusPerson.id)):
        household = households.get(person.household_id)
        sheet.append([person.name, masked(person.id_no), masked(person.phone) if person.phone else "",
                      household.attributes.get("head", "") if household else "", person.address, grid.code,
                      ";".join(person.flags)])
    for kind in ITEM_KINDS.values():
        sheet = workbook.create_sheet(kind.sheet)
        sheet.append([c.zh for c in kind.columns])
        for item in session.scalars(select(CensusItem).where(CensusItem.kind == kind.kind,
                                                             CensusItem.grid_path == grid.path)
                                    .order_by(CensusItem.id)):
            sheet.append([_export_cell(kind, c, item, grid) for c in kind.columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _export_cell(kind: Kind, column: Column, item: CensusItem, grid: OrgUnit) -> Any:
    if column.field == "name":
        return item.name
    if column.field == "grid":
        return grid.code
    value: Any = item.attributes or {}
    for part in column.attr:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if column.type == "bool":
        return "是" if value else "否"
    return masked(value)

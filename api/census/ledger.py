"""The census ledger's layout, shared by its import and its export: one sheet per kind, the columns
with their Chinese headers (English accepted too) and types, and the checks of ID numbers and phones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .service import FLAGS

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
YES = {"是", "有", "y", "yes", "true", "1"}
NO = {"否", "无", "n", "no", "false", "0", ""}


def id_problem(value: str) -> tuple[str, str] | None:
    """A mainland resident ID number (GB 11643): 18 characters with a valid check digit."""
    text = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return "an 18-character resident ID number is needed", "身份证号应为 18 位（末位可为 X）"
    if _CHECK[sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS)) % 11] != text[17]:
        return "the ID number's check digit is wrong", "身份证号校验位不正确，请核对"
    return None


# --- the layout ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    field: str
    zh: str                              # the export header, and the column named in errors
    also: tuple[str, ...] = ()           # other accepted spellings
    required: bool = False
    choices: tuple[str, ...] = ()
    type: str = "text"                   # text, number, bool, date, id_no, phone, uscc
    max_len: int = 200
    attr: tuple[str, ...] = ()           # where it is kept in the item's attributes (nested for personal data)


@dataclass(frozen=True)
class Kind:
    kind: str
    sheet: str                           # the export sheet's title
    columns: tuple[Column, ...]

    @property
    def marker(self) -> Column:          # the name column, which tells the sheet's kind
        return self.columns[0]


GRID = Column("grid", "网格编码", ("网格", "所属网格", "grid_code", "grid"), required=True)
NOTE = Column("note", "备注", ("note",), max_len=500, attr=("note",))

PEOPLE = Kind("person", "人口信息", (
    Column("name", "姓名", ("name",), required=True, max_len=100),
    Column("id_no", "身份证号", ("身份证号码", "公民身份号码", "证件号码", "id_no"), required=True, type="id_no"),
    Column("phone", "电话", ("联系电话", "手机", "手机号", "手机号码", "phone"), type="phone"),
    Column("head", "户主", ("户主姓名", "household_head", "head"), max_len=100),
    Column("address", "地址", ("住址", "现住址", "居住地址", "address"), max_len=300),
    GRID,
    Column("flags", "人员类别", ("人员类型", "类别", "flags", "category"), choices=FLAGS),
))

ITEM_KINDS: dict[str, Kind] = {k.kind: k for k in (
    Kind("house", "房屋信息", (
        Column("name", "房屋地址", ("房屋坐落", "house_address"), required=True, max_len=200),
        GRID,
        Column("use", "房屋用途", ("用途", "use"), required=True, choices=("自住", "出租", "空置", "经营", "公共"),
               attr=("use",)),
        Column("owner", "产权人", ("房主", "owner"), max_len=100, attr=("owner", "name")),
        Column("owner_id_no", "产权人身份证号", ("owner_id_no",), type="id_no", attr=("owner", "id_no")),
        Column("owner_phone", "产权人电话", ("owner_phone",), type="phone", attr=("owner", "phone")),
        Column("area", "建筑面积", ("面积", "area"), type="number", attr=("area",)),
        Column("structure", "房屋结构", ("结构", "structure"),
               choices=("钢混", "砖混", "砖木", "土木", "钢结构", "其他"), attr=("structure",)),
        Column("hazard", "安全隐患", ("是否有隐患", "hazard"), type="bool", attr=("hazard",)),
        NOTE)),
    Kind("land", "土地信息", (
        Column("name", "地块名称", ("地块编号", "parcel"), required=True, max_len=200),
        GRID,
        Column("type", "土地类型", ("地类", "land_type"), required=True,
               choices=("承包地", "宅基地", "林地", "集体建设用地", "其他"), attr=("type",)),
        Column("holder", "权利人", ("承包人", "holder"), max_len=100, attr=("holder", "name")),
        Column("holder_id_no", "权利人身份证号", ("holder_id_no",), type="id_no", attr=("holder", "id_no")),
        Column("cert_no", "权证编号", ("证书编号", "cert_no"), max_len=60, attr=("cert_no",)),
        Column("area", "面积", ("area",), type="number", attr=("area",)),
        Column("bounds", "四至", ("bounds",), max_len=300, attr=("bounds",)),
        NOTE)),
    Kind("event", "事件信息", (
        Column("name", "事件名称", ("事项名称", "event"), required=True, max_len=200),
        GRID,
        Column("type", "事件类型", ("事项类型", "event_type"), required=True,
               choices=("矛盾纠纷", "安全隐患", "民生诉求", "治安", "其他"), attr=("type",)),
        Column("occurred_on", "发生日期", ("发生时间", "occurred_on"), type="date", attr=("occurred_on",)),
        Column("reporter", "上报人", ("reporter",), max_len=100, attr=("reporter",)),
        Column("status", "处理状态", ("状态", "status"), choices=("待处理", "处理中", "已办结"), attr=("status",)),
        Column("place", "发生地点", ("地点", "place"), max_len=300, attr=("place",)),
        Column("description", "事件描述", ("描述", "description"), max_len=2000, attr=("description",)))),
    Kind("thing", "物品设施", (
        Column("name", "设施名称", ("部件名称", "物品名称", "facility"), required=True, max_len=200),
        GRID,
        Column("type", "设施类型", ("部件类型", "facility_type"), required=True,
               choices=("公共设施", "重点部位", "消防设施", "监控", "危化品点位", "其他"), attr=("type",)),
        Column("place", "位置", ("设施位置", "place"), max_len=300, attr=("place",)),
        Column("status", "状态", ("运行状态", "status"), choices=("正常", "损坏", "停用"), attr=("status",)),
        Column("keeper", "管理人", ("责任人", "keeper"), max_len=100, attr=("keeper", "name")),
        Column("keeper_phone", "管理人电话", ("keeper_phone",), type="phone", attr=("keeper", "phone")),
        NOTE)),
    Kind("organisation", "组织信息", (
        Column("name", "组织名称", ("机构名称", "organisation"), required=True, max_len=200),
        GRID,
        Column("type", "组织类型", ("机构类型", "org_type"), required=True,
               choices=("企业", "个体工商户", "社会组织", "两新组织", "村两委", "调委会", "五老和谐会", "群防群治组织", "其他"),
               attr=("type",)),
        Column("uscc", "统一社会信用代码", ("信用代码", "uscc"), type="uscc", attr=("uscc",)),
        Column("contact", "负责人", ("联系人", "contact"), max_len=100, attr=("contact", "name")),
        Column("contact_phone", "联系电话", ("contact_phone",), type="phone", attr=("contact", "phone")),
        Column("address", "地址", ("address",), max_len=300, attr=("address",)),
        Column("members", "人数", ("成员人数", "members"), type="number", attr=("members",)),
        NOTE)),
)}
KINDS_ZH = {"person": "人口", "house": "房屋", "land": "土地", "event": "事件", "thing": "物", "organisation": "组织"}


def spellings(kind: Kind) -> dict[str, tuple[str, ...]]:
    return {c.field: (c.zh, *c.also) for c in kind.columns}

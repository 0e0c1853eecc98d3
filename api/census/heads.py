"""楼栋长/组长: the roster of building and group heads of each grid, and finding the grid of an address.

A 楼栋长 (of a building) or 组长 (of a villagers' group) answers the one-key calls (群众按“1”、楼栋长就到)
of the households they head. Each roster row names the building or group as people write it in an
address (``杨家湾村3组``, ``新店村1栋``) and, when the head has a login (role ``building_head``), its
username: the one-key call process gives the head's answer task to that person
(``workflows/bpmn/one_key_response.bpmn``). The same labels, and the addresses of the census,
tell which grid an address lies in, so a call or a 110 lead reaches the grid of its address.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import wraps

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Boolean, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.core import auth
from api.core.models import OrgUnit, User
from api.core.org import in_scope, like_prefix
from api.core.problems import ApiProblem
from api.core.services import services
from engine.models import Base, BigId

from .service import CensusPerson, not_found, require_roles, require_writer, scoped_grid

HEAD_ROLE = "building_head"
KINDS = ("楼栋", "组")
# Who keeps the roster: the grid worker of the grid, the village and the town centre above it.
ROSTER_ROLES = frozenset({"grid_worker", "village_secretary", "village_mediator", "town_officer", "town_director"})


class BuildingHead(Base):
    """The head of one building or villagers' group of a grid."""

    __tablename__ = "building_heads"
    __table_args__ = (UniqueConstraint("grid_path", "label", name="uq_building_heads_grid_label"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grid_path: Mapped[str] = mapped_column(String(400), index=True)
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


def normal(text: str | None) -> str:
    """An address or label compared without width, case or spaces (NFKC)."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()


def head_for_address(session: Session, area: str, address: str | None) -> BuildingHead | None:
    """The active head whose building or group the address names, within the area (a village or a
    grid, or the grid's village): the longest label the address contains wins (``3组`` in ``13组``
    loses to ``13组``)."""
    wanted = normal(address)
    if not wanted or not area:
        return None
    rows = session.scalars(select(BuildingHead).where(
        BuildingHead.active.is_(True),
        BuildingHead.grid_path.like(like_prefix(area), escape="\\") | (BuildingHead.grid_path == area)))
    found = [row for row in rows if normal(row.label) and normal(row.label) in wanted]
    return max(found, key=lambda row: len(normal(row.label)), default=None)


def grid_of_address(session: Session, area: str, address: str | None) -> str | None:
    """The grid an address lies in, within an area: the grid of the building or group it names, else
    the grid of a census resident registered at exactly that address."""
    head = head_for_address(session, area, address)
    if head is not None:
        return head.grid_path
    if not address or not area:
        return None
    grids = set(session.scalars(select(CensusPerson.grid_path).where(
        CensusPerson.address == address.strip(), CensusPerson.grid_path.like(like_prefix(area), escape="\\"))
        .limit(20)))
    return grids.pop() if len(grids) == 1 else None


# --- the roster's routes ---------------------------------------------------------------------------

blp = Blueprint("building_heads", __name__, url_prefix="/api/v1/census/building-heads",
                description="楼栋长/组长 roster (one-key calls)")


class HeadIn(Schema):
    grid = fields.String(required=True, validate=validate.Length(min=1, max=400),
                         metadata={"description": "grid code or path"})
    label = fields.String(required=True, validate=validate.Length(min=2, max=100),
                          metadata={"description": "the building or group as addresses name it, e.g. 杨家湾村3组"})
    kind = fields.String(load_default="组", validate=validate.OneOf(KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                             metadata={"description": "the head's login (role building_head, in this grid)"})


class HeadPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    username = fields.String(allow_none=True, validate=validate.Length(max=100))
    active = fields.Boolean()


class HeadsQuery(Schema):
    grid = fields.String(load_default=None, validate=validate.Length(max=400))


class HeadOut(Schema):
    id = fields.Integer()
    grid_path = fields.String()
    label = fields.String()
    kind = fields.String()
    name = fields.String()
    username = fields.String(allow_none=True)
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()


def keeper(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        principal = auth.current()
        require_writer(principal)
        require_roles(principal, ROSTER_ROLES, "只有网格员、村干部和乡镇综治中心可以维护楼栋长/组长名册")
        return view(*args, **kwargs)
    return guarded


def _check_login(session: Session, username: str | None, grid_path: str) -> str | None:
    """A head's login must be an active 楼栋长/组长 account of that grid (or none)."""
    if not username:
        return None
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or HEAD_ROLE not in user.roles or user.unit.path != grid_path:
        raise ApiProblem(422, f"user {username!r} is not an active building_head of this grid",
                         "该账号不是本网格在用的楼栋长/组长账号", errors={"username": "不是本网格的楼栋长/组长账号"})
    return username


@blp.get("")
@blp.arguments(HeadsQuery, location="query")
@blp.response(200, HeadOut(many=True))
def list_heads(query):
    """The 楼栋长/组长 of the grids of your area (a building head and a grid worker see their grid's
    village too, as the one-key call reaches them from there)."""
    principal = auth.current()
    with services().db.read() as session:
        statement = select(BuildingHead).order_by(BuildingHead.grid_path, BuildingHead.label)
        if query.get("grid"):
            statement = statement.where(BuildingHead.grid_path == scoped_grid(session, principal, query["grid"]).path)
        else:
            statement = statement.where(BuildingHead.grid_path.like(like_prefix(principal.unit_path), escape="\\"))
        return list(session.scalars(statement))


@blp.post("")
@keeper
@blp.arguments(HeadIn)
@blp.response(201, HeadOut)
def create_head(body):
    """Put a building or group and its head on the roster (one row per label and grid: 409 twice)."""
    principal = auth.current()
    svc = services()
    with svc.db.write() as session, session.begin():
        grid = scoped_grid(session, principal, body["grid"])
        if session.scalars(select(BuildingHead.id).where(BuildingHead.grid_path == grid.path,
                                                         BuildingHead.label == body["label"].strip())).first():
            raise ApiProblem(409, "this building or group is on the roster already", "该楼栋/组已登记楼栋长/组长",
                             field="label")
        head = BuildingHead(grid_path=grid.path, label=body["label"].strip(), kind=body["kind"],
                            name=body["name"].strip(), username=_check_login(session, body.get("username"), grid.path),
                            active=True, created_by=principal.username, created_at=svc.clock.now())
        session.add(head)
        session.flush()
        session.expunge(head)
        return head


@blp.patch("/<int:head_id>")
@keeper
@blp.arguments(HeadPatch)
@blp.response(200, HeadOut)
def update_head(body, head_id: int):
    """Change a head's name or login, or take them off the roster (``active: false``)."""
    principal = auth.current()
    with services().db.write() as session, session.begin():
        head = session.get(BuildingHead, head_id)
        if head is None or not in_scope(head.grid_path, principal.unit_path):
            raise not_found("building head", head_id)
        if "username" in body:
            head.username = _check_login(session, body["username"], head.grid_path)
        for key in ("name", "active"):
            if key in body:
                setattr(head, key, body[key])
        session.flush()
        session.expunge(head)
        return head


def demo_roster(session: Session, rows, now: datetime) -> bool:
    """The demo roster (api.people.seed): the rows whose grid exists and whose label is missing."""
    grids = {unit.code: unit.path for unit in session.scalars(select(OrgUnit).where(OrgUnit.kind == "grid"))}
    have = set(session.execute(select(BuildingHead.grid_path, BuildingHead.label)).all())
    added = False
    for grid_code, label, kind, name, username in rows:
        if grid_code in grids and (grids[grid_code], label) not in have:
            session.add(BuildingHead(grid_path=grids[grid_code], label=label, kind=kind, name=name, username=username,
                                     active=True, created_by="seed", created_at=now))
            added = True
    return added

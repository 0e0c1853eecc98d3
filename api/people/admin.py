"""Organisation and user administration, for admins, within their own subtree.

Anything outside the admin's unit answers 404, as cases do. Every change is written to
``admin_audit`` in the same transaction as the change itself.
"""
from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.core import auth, org
from api.core.auth import Principal
from api.core.models import AdminAudit, OrgUnit, User, UserRole
from api.core.problems import ApiProblem
from api.core.services import services

from . import importer
from .schemas import (AdminAuditPage, AdminAuditQuery, ImportOut, ImportQuery, PasswordReset, PasswordResetOut, RoleOut,
                      UnitIn, UnitOut, UnitPatch, UnitQuery, UserIn, UserOut, UserPage, UserPatch, UserQuery)

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Organisation and user administration")

ADMIN = "admin"


def _not_found(what: str, ident: Any) -> ApiProblem:
    zh = {"unit": "单位", "user": "用户"}[what]
    return ApiProblem(404, f"{what} {ident} does not exist or is outside your area", f"未找到该{zh}，或不在您的管辖范围内")


def _invalid(field: str, detail: str, message: str) -> ApiProblem:
    return ApiProblem(422, detail, "数据校验未通过，请按提示修改", errors={field: message})


def _scoped_unit(session: Session, principal: Principal, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or not org.in_scope(unit.path, principal.unit_path):
        raise _not_found("unit", unit_id)
    return unit


def _unit_ref(session: Session, principal: Principal, body: dict, prefix: str) -> OrgUnit | None:
    """The unit a body names by ``<prefix>_id`` or ``<prefix>_code``, in scope; None when it names none."""
    unit_id, code = body.get(f"{prefix}_id"), body.get(f"{prefix}_code")
    if unit_id is None and not code:
        return None
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else \
        session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None or not org.in_scope(unit.path, principal.unit_path):
        field = f"{prefix}_id" if unit_id is not None else f"{prefix}_code"
        raise _invalid(field, f"{field}: no such unit in your area", "未找到该单位，或不在您的管辖范围内")
    return unit


def _kind(value: str) -> str:
    kind = org.resolve_kind(value)
    if kind is None:
        raise _invalid("kind", f"kind must be one of {', '.join(org.KINDS)}",
                       "单位类型应为：市、乡镇/街道、村/社区、网格、职能部门")
    return kind


def _check(problem: org.Problem | None, field: str) -> None:
    if problem:
        raise _invalid(field, problem[0], problem[1])


# --- units ---------------------------------------------------------------------------------------

@blp.get("/units")
@blp.arguments(UnitQuery, location="query")
@blp.response(200, UnitOut(many=True))
def list_units(query):
    """The units of your subtree, in tree order (by path)."""
    principal = auth.require_role(ADMIN)
    conditions = [OrgUnit.path.like(org.like_prefix(principal.unit_path), escape="\\")]
    if query.get("kind"):
        conditions.append(OrgUnit.kind == _kind(query["kind"]))
    with services().db.read() as session:
        return list(session.scalars(select(OrgUnit).where(*conditions).order_by(OrgUnit.path)))


@blp.get("/units/<int:unit_id>")
@blp.response(200, UnitOut)
def get_unit(unit_id: int):
    principal = auth.require_role(ADMIN)
    with services().db.read() as session:
        return _scoped_unit(session, principal, unit_id)


@blp.post("/units")
@blp.arguments(UnitIn)
@blp.response(201, UnitOut)
def create_unit(body):
    """Add a unit under a parent in your subtree (town under city, village under town, grid under
    village, department under city or town)."""
    principal = auth.require_role(ADMIN)
    kind = _kind(body["kind"])
    _check(org.code_problem(body["code"]), "code")
    svc = services()
    with svc.db.write() as session, session.begin():
        parent = _unit_ref(session, principal, body, "parent")
        if parent is None:
            # A new root would lie outside every admin's subtree; roots come from seeding or the CLI import.
            raise _invalid("parent_id", "a parent unit is required", "请选择上级单位")
        _check(org.placement_problem(kind, parent.kind), "kind")
        if session.scalars(select(OrgUnit.id).where(OrgUnit.code == body["code"])).first() is not None:
            raise ApiProblem(409, f"unit code {body['code']} is already used", "单位编码已存在", field="code")
        path = org.child_path(parent.path, body["code"])
        if len(path) > org.MAX_PATH:
            raise _invalid("code", "the unit's path would be too long", "单位层级路径过长")
        unit = OrgUnit(code=body["code"], name=body["name"].strip(), kind=kind, parent_id=parent.id, path=path)
        session.add(unit)
        session.flush()
        org.record(session, svc.clock.now(), principal.username, "unit.create", "unit", unit.id, unit.path,
                      after=org.unit_snapshot(unit))
    return unit


@blp.patch("/units/<int:unit_id>")
@blp.arguments(UnitPatch)
@blp.response(200, UnitOut)
def update_unit(body, unit_id: int):
    """Rename a unit, change its kind, or move it under another parent (409 while cases lie under it)."""
    principal = auth.require_role(ADMIN)
    svc = services()
    with svc.db.write() as session, session.begin():
        unit = _scoped_unit(session, principal, unit_id)
        before = org.unit_snapshot(unit)
        parent = _unit_ref(session, principal, body, "parent")
        moving = parent is not None and parent.id != unit.parent_id
        if (moving or "kind" in body) and unit.path == principal.unit_path:
            raise ApiProblem(403, "you cannot move or re-kind your own unit", "不能移动或更改本人所在单位的类型")
        kind = _kind(body["kind"]) if "kind" in body else unit.kind
        if moving and parent.path.startswith(unit.path):
            raise ApiProblem(409, "a unit cannot move under itself or its own descendants",
                             "不能把单位移动到其自身或其下级单位之下")
        new_parent = parent if moving else (session.get(OrgUnit, unit.parent_id) if unit.parent_id else None)
        _check(org.placement_problem(kind, new_parent.kind if new_parent else None), "kind")
        if kind != unit.kind:
            _check_children_fit(session, unit, kind)
        if "name" in body:
            unit.name = body["name"].strip()
        unit.kind = kind
        if moving:
            _move(session, unit, parent)
        after = org.unit_snapshot(unit)
        if after != before:
            org.record(session, svc.clock.now(), principal.username,
                          "unit.move" if moving else "unit.update", "unit", unit.id, unit.path, before, after)
    return unit


def _check_children_fit(session: Session, unit: OrgUnit, kind: str) -> None:
    for child in session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id)):
        problem = org.placement_problem(child.kind, kind)
        if problem:
            raise ApiProblem(409, f"unit {child.code} underneath would no longer fit: {problem[0]}",
                             f"下级单位“{child.name}”将不再符合层级规则：{problem[1]}")


def _move(session: Session, unit: OrgUnit, parent: OrgUnit) -> None:
    """Re-root the unit's subtree under the new parent, keeping every materialised path consistent."""
    if org.subtree_has_cases(session, unit.path):
        raise ApiProblem(409, "cases or tasks lie in this unit's area; their jurisdiction would no longer match, "
                              "so the unit cannot move", "该单位辖区内已有案件或任务，不能移动（否则案件将脱离管辖）")
    old, new = unit.path, org.child_path(parent.path, unit.code)
    subtree = list(session.scalars(select(OrgUnit).where(OrgUnit.path.like(org.like_prefix(old), escape="\\"))))
    if any(len(new + u.path[len(old):]) > org.MAX_PATH for u in subtree):
        raise ApiProblem(409, "the moved paths would be too long", "移动后的单位层级路径过长")
    for member in subtree:
        member.path = new + member.path[len(old):]
    unit.parent_id = parent.id


@blp.delete("/units/<int:unit_id>")
@blp.response(204)
def delete_unit(unit_id: int):
    """Remove an empty unit: no units or users under it and no cases in its area."""
    principal = auth.require_role(ADMIN)
    svc = services()
    with svc.db.write() as session, session.begin():
        unit = _scoped_unit(session, principal, unit_id)
        if unit.path == principal.unit_path:
            raise ApiProblem(403, "you cannot delete your own unit", "不能删除本人所在单位")
        if session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == unit.id)).first() is not None:
            raise ApiProblem(409, "the unit still has units under it", "该单位下仍有下级单位，不能删除")
        if session.scalars(select(User.id).where(User.unit_id == unit.id)).first() is not None:
            raise ApiProblem(409, "the unit still has users", "该单位仍有用户，请先调出或停用后再删除")
        if org.subtree_has_cases(session, unit.path):
            raise ApiProblem(409, "cases or tasks lie in this unit's area", "该单位辖区内已有案件或任务，不能删除")
        org.record(session, svc.clock.now(), principal.username, "unit.delete", "unit", unit.id, unit.path,
                      before=org.unit_snapshot(unit))
        session.delete(unit)


# --- users ---------------------------------------------------------------------------------------

def user_out(user: User, temporary_password: str | None = None) -> dict:
    out = {c: getattr(user, c) for c in ("id", "username", "display_name", "service_phone", "unit_id", "active",
                                         "must_change_password", "created_at")}
    out.update(unit_code=user.unit.code, unit_name=user.unit.name, unit_path=user.unit.path,
               roles=sorted(user.roles))
    if temporary_password:
        out["temporary_password"] = temporary_password
    return out


def _scoped_user(session: Session, principal: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not org.in_scope(user.unit.path, principal.unit_path):
        raise _not_found("user", user_id)
    return user


def _roles(names: list[str]) -> list[str]:
    codes, unknown = org.resolve_roles(services().roles, names)
    if unknown:
        raise _invalid("roles", f"unknown roles: {', '.join(unknown)}", f"未知角色：{'、'.join(unknown)}")
    return codes


def _password(password: str | None, username: str) -> tuple[str, str | None]:
    """The password to set and, when the server made it up, the one to hand back."""
    if password:
        _check(auth.password_problem(password, username), "password")
        return password, None
    generated = auth.generate_password()
    return generated, generated


@blp.get("/users")
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserPage)
def list_users(query):
    """Users of your subtree."""
    principal = auth.require_role(ADMIN)
    conditions = [OrgUnit.path.like(org.like_prefix(principal.unit_path), escape="\\")]
    if query.get("q"):
        pattern = f"%{query['q'].lower()}%"
        conditions.append(or_(func.lower(User.username).like(pattern), User.display_name.like(f"%{query['q']}%")))
    if query.get("unit_id") is not None:
        conditions.append(User.unit_id == query["unit_id"])
    if query.get("active") is not None:
        conditions.append(User.active.is_(query["active"]))
    if query.get("role"):
        code = services().roles.resolve(query["role"]) or query["role"]
        conditions.append(User.id.in_(select(UserRole.user_id).where(UserRole.role_code == code)))
    page, size = query["page"], query["page_size"]
    with services().db.read() as session:
        base = select(User).join(OrgUnit, OrgUnit.id == User.unit_id).where(*conditions)
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        users = session.scalars(base.order_by(OrgUnit.path, User.username).offset((page - 1) * size).limit(size))
        return {"items": [user_out(u) for u in users], "total": total, "page": page, "page_size": size}


@blp.get("/users/<int:user_id>")
@blp.response(200, UserOut)
def get_user(user_id: int):
    principal = auth.require_role(ADMIN)
    with services().db.read() as session:
        return user_out(_scoped_user(session, principal, user_id))


@blp.post("/users")
@blp.arguments(UserIn)
@blp.response(201, UserOut)
def create_user(body):
    """Create a user in a unit of your subtree. Without ``password`` a temporary one is generated and
    returned once; the user must change it at first login unless ``must_change_password`` is false."""
    principal = auth.require_role(ADMIN)
    _check(org.username_problem(body["username"]), "username")
    roles = _roles(body["roles"])
    password, generated = _password(body.get("password"), body["username"])
    svc = services()
    with svc.db.write() as session, session.begin():
        unit = _unit_ref(session, principal, body, "unit")
        if unit is None:
            raise _invalid("unit_id", "unit_id or unit_code is required", "请选择用户所属单位")
        if session.scalars(select(User.id).where(User.username == body["username"])).first() is not None:
            raise ApiProblem(409, f"username {body['username']} is already taken", "用户名已存在", field="username")
        user = User(username=body["username"], display_name=body["display_name"].strip(),
                    service_phone=body.get("service_phone") or None,
                    password_hash=auth.hash_password(password), unit_id=unit.id, active=body["active"],
                    must_change_password=body["must_change_password"], created_at=svc.clock.now())
        user.role_links = [UserRole(role_code=code) for code in roles]
        session.add(user)
        session.flush()
        session.refresh(user)
        org.record(session, svc.clock.now(), principal.username, "user.create", "user", user.id, unit.path,
                      after=org.user_snapshot(user))
        return user_out(user, generated)


@blp.patch("/users/<int:user_id>")
@blp.arguments(UserPatch)
@blp.response(200, UserOut)
def update_user(body, user_id: int):
    """Change a user's name, service phone, unit, roles or active flag. Deactivating signs the user out everywhere."""
    principal = auth.require_role(ADMIN)
    svc = services()
    with svc.db.write() as session, session.begin():
        user = _scoped_user(session, principal, user_id)
        before = org.user_snapshot(user)
        unit = _unit_ref(session, principal, body, "unit")
        roles = _roles(body["roles"]) if "roles" in body else None
        if user.id == principal.id and (body.get("active") is False or (roles is not None and "admin" not in roles)):
            raise ApiProblem(409, "you cannot deactivate yourself or drop your own admin role",
                             "不能停用自己的账号或取消自己的管理员角色")
        if "display_name" in body:
            user.display_name = body["display_name"].strip()
        if "service_phone" in body:
            user.service_phone = body["service_phone"] or None
        if unit is not None:
            user.unit_id, user.unit = unit.id, unit
        if roles is not None:
            keep = [link for link in user.role_links if link.role_code in roles]
            user.role_links = keep + [UserRole(role_code=c) for c in roles if c not in {k.role_code for k in keep}]
        if "active" in body:
            user.active = body["active"]
            if not user.active:
                auth.revoke_tokens(session, user.id, svc.clock.now())
        session.flush()
        after = org.user_snapshot(user)
        if after != before:
            org.record(session, svc.clock.now(), principal.username, "user.update", "user", user.id,
                          user.unit.path, before, after)
        return user_out(user)


@blp.delete("/users/<int:user_id>")
@blp.response(204)
def delete_user(user_id: int):
    """Deactivate a user and revoke their tokens. Accounts are never erased: case histories name them."""
    principal = auth.require_role(ADMIN)
    svc = services()
    with svc.db.write() as session, session.begin():
        user = _scoped_user(session, principal, user_id)
        if user.id == principal.id:
            raise ApiProblem(409, "you cannot deactivate yourself", "不能停用自己的账号")
        before = org.user_snapshot(user)
        user.active = False
        auth.revoke_tokens(session, user.id, svc.clock.now())
        org.record(session, svc.clock.now(), principal.username, "user.deactivate", "user", user.id,
                      user.unit.path, before, org.user_snapshot(user))


@blp.post("/users/<int:user_id>/password")
@blp.arguments(PasswordReset)
@blp.response(200, PasswordResetOut)
def reset_password(body, user_id: int):
    """Set a new password (or generate one, returned once); the user must change it at next login and
    every token of theirs is revoked."""
    principal = auth.require_role(ADMIN)
    svc = services()
    with svc.db.write() as session, session.begin():
        user = _scoped_user(session, principal, user_id)
        password, generated = _password(body.get("password"), user.username)
        user.password_hash = auth.hash_password(password)
        user.must_change_password = True
        auth.revoke_tokens(session, user.id, svc.clock.now())
        org.record(session, svc.clock.now(), principal.username, "user.reset_password", "user", user.id,
                      user.unit.path, after={"must_change_password": True, "generated": generated is not None})
    return {"temporary_password": generated} if generated else {}


# --- import, roles, audit ------------------------------------------------------------------------

@blp.post("/import")
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ImportOut)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
def import_people(query):
    """Import units and users from .csv or .xlsx files (see docs/api.md for the columns).

    Every row is checked first; any bad row answers 422 listing each one ({file, sheet, row,
    column, message, detail}) and nothing is imported. ``dry_run=true`` only checks.
    """
    principal = auth.require_role(ADMIN)
    uploads = request.files.getlist("files") or request.files.getlist("file")
    if not uploads:
        raise ApiProblem(400, "send .csv or .xlsx files as multipart/form-data under the field name 'files'",
                         "请选择要导入的文件")
    sources = [(upload.filename or "unnamed", upload.read()) for upload in uploads]
    svc = services()
    return importer.run(svc, sources, actor=principal.username, scope_path=principal.unit_path,
                        dry_run=query["dry_run"]).as_dict()


@blp.get("/roles")
@blp.response(200, RoleOut(many=True))
def list_roles():
    """The role catalogue (workflows/roles.json)."""
    auth.require_role(ADMIN)
    return [{k: entry.get(k, "") for k in ("code", "zh", "en", "level")} for entry in services().roles.entries]


@blp.get("/audit")
@blp.arguments(AdminAuditQuery, location="query")
@blp.response(200, AdminAuditPage)
def list_audit(query):
    """Changes to units, users, passwords and tokens in your subtree, newest first."""
    principal = auth.require_role(ADMIN)
    conditions = [AdminAudit.target_path.like(org.like_prefix(principal.unit_path), escape="\\")]
    for field in ("action", "target_type"):
        if query.get(field):
            conditions.append(getattr(AdminAudit, field) == query[field])
    page, size = query["page"], query["page_size"]
    with services().db.read() as session:
        total = session.scalar(select(func.count()).select_from(AdminAudit).where(*conditions))
        rows = list(session.scalars(select(AdminAudit).where(*conditions)
                                    .order_by(AdminAudit.id.desc()).offset((page - 1) * size).limit(size)))
    return {"items": rows, "total": total, "page": page, "page_size": size}


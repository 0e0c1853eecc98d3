"""Rules for the organisation tree and user accounts, shared by the admin API and the importer,
and the admin audit record. No Flask here.

Unit paths are built from unit codes (``/macheng/songbu/``), and cases and tasks store those paths
as their jurisdiction. So a unit's code never changes, and a unit only moves while no case or task
lies in its subtree: moving it then would silently take those cases out of everybody's scope.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseTask

from .models import AdminAudit, OrgUnit, User
from .services import RoleCatalogue

KINDS = ("city", "town", "village", "grid", "department")
KIND_NAMES_ZH = {"city": "市", "town": "乡镇/街道", "village": "村/社区", "grid": "网格", "department": "职能部门"}
# Spellings accepted in requests and import files (Chinese as people write them).
KIND_ALIASES = {
    **{kind: kind for kind in KINDS},
    "市": "city", "县": "city", "县级市": "city", "城市": "city",
    "乡镇": "town", "乡": "town", "镇": "town", "街道": "town", "乡镇/街道": "town", "乡镇街道": "town",
    "村": "village", "社区": "village", "村/社区": "village", "村社区": "village", "村居": "village",
    "网格": "grid", "部门": "department", "职能部门": "department",
}
# Which kind of unit each kind hangs under; a city is the root and has no parent.
PARENT_KINDS: dict[str, tuple[str, ...]] = {
    "city": (), "town": ("city",), "village": ("town",), "grid": ("village",), "department": ("city", "town"),
}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
MAX_PATH = 400

Problem = tuple[str, str]  # (English detail, Chinese message)


def resolve_kind(value: str) -> str | None:
    return KIND_ALIASES.get((value or "").strip().lower()) or KIND_ALIASES.get((value or "").strip())


def code_problem(code: str) -> Problem | None:
    if not CODE_RE.match(code or ""):
        return ("a unit code is 1-100 letters, digits, '-' or '_', starting with a letter or digit",
                "单位编码只能由字母、数字、“-”、“_”组成，且以字母或数字开头")
    return None


def username_problem(username: str) -> Problem | None:
    if not USERNAME_RE.match(username or ""):
        return ("a username is 1-100 letters, digits, '.', '_', '-' or '@', starting with a letter or digit",
                "用户名只能由字母、数字及 . _ - @ 组成，且以字母或数字开头")
    return None


def placement_problem(kind: str, parent_kind: str | None) -> Problem | None:
    allowed = PARENT_KINDS[kind]
    if parent_kind is None and not allowed:
        return None
    if parent_kind is None:
        return f"a {kind} needs a parent unit", f"“{KIND_NAMES_ZH[kind]}”必须有上级单位"
    if parent_kind not in allowed:
        if not allowed:
            return "a city is the root of the tree and has no parent", "市级单位是组织树的根，不能有上级单位"
        return (f"a {kind} belongs under a {' or '.join(allowed)}, not under a {parent_kind}",
                f"“{KIND_NAMES_ZH[kind]}”的上级应为“{'或'.join(KIND_NAMES_ZH[k] for k in allowed)}”，"
                f"不能是“{KIND_NAMES_ZH[parent_kind]}”")
    return None


def child_path(parent_path: str | None, code: str) -> str:
    return f"{parent_path or '/'}{code}/"


def resolve_roles(catalogue: RoleCatalogue, names: list[str]) -> tuple[list[str], list[str]]:
    """Role codes for names given by code or Chinese/English name; and the names not known."""
    codes, unknown = [], []
    for name in names:
        code = catalogue.resolve(name)
        if code is None:
            unknown.append(name)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


def like_prefix(path: str):
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def subtree_has_cases(session: Session, path: str) -> bool:
    prefix = like_prefix(path)
    return bool(session.scalar(select(or_(
        exists().where(Case.jurisdiction.like(prefix, escape="\\")),
        exists().where(CaseTask.jurisdiction.like(prefix, escape="\\"))))))


def in_scope(path: str, scope_path: str) -> bool:
    return path.startswith(scope_path)


def unit_snapshot(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id,
            "path": unit.path}


def user_snapshot(user: User) -> dict[str, Any]:
    """What the audit keeps of a user: never the password hash."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "service_phone": user.service_phone, "unit_id": user.unit_id, "unit_path": user.unit.path if user.unit else None,
            "roles": sorted(user.roles), "active": user.active, "must_change_password": user.must_change_password}


def record(session: Session, at: datetime, actor: str, action: str, target_type: str, target_id: int | None,
           target_path: str, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    session.add(AdminAudit(at=at, actor=actor, action=action, target_type=target_type, target_id=target_id,
                           target_path=target_path, before=before, after=after))


def display_names(session, usernames: set[str]) -> dict[str, str]:
    """How people are called on screen ("网格员 李网格"), for the usernames an answer names."""
    if not usernames:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
    return dict(rows.all())

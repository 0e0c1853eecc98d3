"""What every community route uses: the blueprint, the write guard, scoping, the history of changes
and the sealed phone of a member or a card."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from functools import wraps
from typing import Any, Callable

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.census.ledger import PHONE
from api.core import auth
from api.core.auth import Principal
from api.core.models import OrgUnit
from api.core.org import in_scope
from api.core.services import services
from api.prevention.service import history_json, invalid, not_found, require_writer, scoped_row  # noqa: F401 - scoped_row is shared
from engine.clock import CHINA

from .models import CommunityChange, catalogue

blp = Blueprint("community", __name__, url_prefix="/api/v1/community",
                description="Community work: 五会一队 rosters, 警民恳谈会 and service posts, 干部联系提示卡, 六大行动 (群防群治)")


def writer(view):
    """Placed between @blp.<method> and @blp.arguments: auditors and designers are refused before the body is read."""
    @wraps(view)
    def guarded(*args, **kwargs):
        require_writer(auth.current())
        return view(*args, **kwargs)
    return guarded


def vocabulary(name: str) -> dict[str, str]:
    """code → Chinese name of one list of ``workflows/community.json``."""
    return catalogue(services().settings.workflows_dir)[name]


def known(name: str, code: str, field: str, zh: str) -> str:
    if code not in vocabulary(name):
        raise invalid(field, f"unknown {name} code {code!r}; one of {', '.join(vocabulary(name))}", zh)
    return code


def scoped_unit(session: Session, principal: Principal, code_or_path: str, kinds: tuple[str, ...],
                what: str = "unit") -> OrgUnit:
    """A unit of one of ``kinds`` by code or path, in the caller's area (404 otherwise)."""
    value = (code_or_path or "").strip()
    column = OrgUnit.path if value.startswith("/") else OrgUnit.code
    unit = session.scalars(select(OrgUnit).where(column == value)).first()
    if unit is None or unit.kind not in kinds or not in_scope(unit.path, principal.unit_path):
        raise not_found(what, value)
    return unit


def optional_area(session: Session, principal: Principal, query: dict) -> OrgUnit | None:
    if not query.get("area"):
        return None
    return scoped_unit(session, principal, query["area"], ("city", "town", "village", "grid"), "area")


def add_recorded(session: Session, row, target_type: str, snapshot: Callable[[Any], dict], actor: str,
                 now: datetime) -> None:
    """Insert a row with the 'create' entry of its history."""
    session.add(row)
    session.flush()
    record_change(session, now, actor, target_type, row.id, row.area_path, "create", None, snapshot(row))


def record_change(session: Session, now: datetime, actor: str, target_type: str, target_id: int, area_path: str,
                  action: str, before: dict | None, after: dict | None) -> None:
    session.add(CommunityChange(target_type=target_type, target_id=target_id, area_path=area_path, action=action,
                                actor=actor, at=now, before=history_json(before), after=history_json(after)))



def sealed_phone(value: str | None, field: str = "phone") -> dict[str, Any]:
    """A phone typed for a member or a card, checked and sealed (``{}`` when none was given)."""
    if not value:
        return {}
    phone = value.replace(" ", "")
    if not PHONE.match(phone):
        raise invalid(field, "a mobile or landline number is needed", "电话应为 11 位手机号或带区号的固定电话")
    return services().vault.seal({"phone": phone})


def day_start(day: date) -> datetime:
    """The UTC instant a local (China) day starts."""
    return datetime.combine(day, time(0), tzinfo=CHINA).astimezone(timezone.utc)

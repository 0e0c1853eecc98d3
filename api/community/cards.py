"""干部联系提示卡: a card given to a census household naming the cadre to call and their number
(sealed, shown masked); coverage per village and the households still without a card."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.census.service import CensusItem
from api.core import auth
from api.core.auth import Principal
from api.core.models import OrgUnit
from api.core.org import in_scope
from api.core.pii import masked
from api.core.scope import in_area
from api.core.services import services
from api.prevention.service import invalid

from .common import add_recorded, blp, optional_area, sealed_phone, writer
from .models import ContactCard
from .schemas import AreaQuery, CardCoverageOut, CardIn, CardOut, HouseholdOut


def card_view(session: Session, card: ContactCard) -> dict:
    household = session.get(CensusItem, card.household_id)
    return {"id": card.id, "household_id": card.household_id, "household": household.name if household else "",
            "area_path": card.area_path, "cadre": card.cadre, "contact": masked(card.personal.get("phone")),
            "issued_on": card.issued_on, "created_by": card.created_by, "created_at": card.created_at}


def _households(session: Session, principal: Principal, area) -> list[CensusItem]:
    return list(session.scalars(select(CensusItem).where(CensusItem.kind == "household",
                                                         in_area(CensusItem.grid_path, principal, area))
                                .order_by(CensusItem.id)))


def _carded(session: Session, principal: Principal, area) -> dict[int, int]:
    """household id → number of cards issued to it."""
    counts: dict[int, int] = {}
    for household_id in session.scalars(select(ContactCard.household_id).where(
            in_area(ContactCard.area_path, principal, area))):
        counts[household_id] = counts.get(household_id, 0) + 1
    return counts


def village_of(grid_path: str) -> str:
    """'/macheng/songbu/v/v-g1/' → '/macheng/songbu/v/'."""
    return grid_path[:grid_path.rstrip("/").rfind("/") + 1]


@blp.post("/contact-cards")
@writer
@blp.arguments(CardIn)
@blp.response(201, CardOut)
def issue_card(body):
    """Record a card given to a census household of your area (a household may get a new card later)."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.write() as session, session.begin():
        household = session.get(CensusItem, body["household_id"])
        if household is None or household.kind != "household" or not in_scope(household.grid_path,
                                                                                principal.unit_path):
            raise invalid("household_id", "no such census household in your area", "普查数据中没有此户，或不在您的管辖范围内")
        card = ContactCard(household_id=household.id, area_path=household.grid_path, cadre=body["cadre"].strip(),
                           personal=sealed_phone(body["contact"], "contact"), issued_on=body["issued_on"],
                           created_by=principal.username, created_at=now)
        add_recorded(session, card, "card", lambda c: card_view(session, c), principal.username, now)
        return card_view(session, card)


@blp.get("/contact-cards")
@blp.arguments(AreaQuery, location="query")
@blp.response(200, CardOut(many=True))
def list_cards(query):
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        rows = session.scalars(select(ContactCard).where(in_area(ContactCard.area_path, principal, area))
                               .order_by(ContactCard.id.desc()).limit(1000))
        return [card_view(session, c) for c in rows]


@blp.get("/contact-card-coverage")
@blp.arguments(AreaQuery, location="query")
@blp.response(200, CardCoverageOut(many=True))
def card_coverage(query):
    """Per village of your area: census households, households with a card, cards issued, households without."""
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        carded = _carded(session, principal, area)
        villages: dict[str, dict] = {}
        for household in _households(session, principal, area):
            path = village_of(household.grid_path)
            row = villages.setdefault(path, {"village_path": path, "households": 0, "with_card": 0, "cards": 0})
            row["households"] += 1
            row["with_card"] += 1 if household.id in carded else 0
            row["cards"] += carded.get(household.id, 0)
        names = dict(session.execute(select(OrgUnit.path, OrgUnit.name).where(OrgUnit.path.in_(list(villages)))).all())
    return [{**row, "village": names.get(path, path), "without_card": row["households"] - row["with_card"]}
            for path, row in sorted(villages.items())]


@blp.get("/households-without-card")
@blp.arguments(AreaQuery, location="query")
@blp.response(200, HouseholdOut(many=True))
def households_without_card(query):
    """The census households of your area (or of one village or grid) that have no card yet."""
    principal = auth.current()
    with services().db.read() as session:
        area = optional_area(session, principal, query)
        carded = _carded(session, principal, area)
        return [{"id": h.id, "name": h.name, "grid_path": h.grid_path}
                for h in _households(session, principal, area) if h.id not in carded]

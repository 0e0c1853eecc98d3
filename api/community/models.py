"""Community work (群防群治): rosters of the 五会一队 self-government organisations and their members'
appointments to mediations, scheduled community events (警民恳谈会, service posts) with the issues
raised there, 干部联系提示卡 issued to census households, and 六大行动 campaign tags.

Every row carries ``area_path``, the materialised path of its village, town or grid, so scoping is
the same prefix test as for cases. Members' phones and card contacts are sealed by the Vault (every
answer shows them masked); ``community_changes`` keeps who created or changed what, masked.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core.models import ChangeRecord
from engine.models import BigId, Base


class CommunityOrg(Base):
    """One 五会一队 organisation of a village (五老和谐会, 红白理事会 …)."""

    __tablename__ = "community_orgs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)  # the village
    kind: Mapped[str] = mapped_column(String(40))  # a code of community.json organisation_kinds
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class CommunityMember(Base):
    __tablename__ = "community_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_orgs.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(60), default="")  # 会长, 成员, 老党员 …
    personal: Mapped[dict[str, Any]]  # sealed phone
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class CommunityAppointment(Base):
    """A member appointed to a case's mediation; the case's event log records it too."""

    __tablename__ = "community_appointments"
    __table_args__ = (UniqueConstraint("member_id", "case_id", name="uq_community_appointments_member_case"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_members.id"), index=True)
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_orgs.id"))
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    case_no: Mapped[str] = mapped_column(String(40))
    area_path: Mapped[str] = mapped_column(String(400), index=True)  # the member's village
    role: Mapped[str] = mapped_column(String(60))  # 参与调解, 主持调解 …
    appointed_by: Mapped[str] = mapped_column(String(100))
    appointed_at: Mapped[datetime]


class CommunityEvent(Base):
    """A 警民恳谈会 or a service-post session in a village or town."""

    __tablename__ = "community_events"
    __table_args__ = (Index("ix_community_events_held_on", "held_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # a code of community.json event_kinds
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int]
    police_present: Mapped[list[Any]]  # names of the police (辅警) who came
    topics: Mapped[list[Any]]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class CommunityIssue(Base):
    """An issue raised at an event; it may have become a lead or a case."""

    __tablename__ = "community_issues"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("community_events.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    description: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(100), default="")  # the resident, as written
    outcome: Mapped[str] = mapped_column(String(10))  # noted, lead, case
    case_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    case_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class ContactCard(Base):
    """A 干部联系提示卡 given to a census household: which cadre to call, at what number."""

    __tablename__ = "contact_cards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(BigId, ForeignKey("census_items.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(400), index=True)  # the household's grid
    cadre: Mapped[str] = mapped_column(String(100))
    personal: Mapped[dict[str, Any]]  # sealed contact phone
    issued_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class CampaignTag(Base):
    """A case, patrol or event counted under one of the 六大行动."""

    __tablename__ = "campaign_tags"
    __table_args__ = (UniqueConstraint("target_type", "target_id", "campaign", name="uq_campaign_tags_target"),
                      Index("ix_campaign_tags_campaign", "campaign"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target_type: Mapped[str] = mapped_column(String(20))  # case, patrol, event
    target_id: Mapped[int] = mapped_column(BigId)
    area_path: Mapped[str] = mapped_column(String(400), index=True)
    campaign: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)  # the target's local day (case opened, patrol, event held)
    tagged_by: Mapped[str] = mapped_column(String(100))
    tagged_at: Mapped[datetime]


class CommunityChange(ChangeRecord, Base):
    """One create or change of a community row, values masked."""

    __tablename__ = "community_changes"
    __table_args__ = (Index("ix_community_changes_target", "target_type", "target_id"),)

    area_path: Mapped[str] = mapped_column(String(400), index=True)


@lru_cache(maxsize=4)
def _catalogue(path: Path, mtime: float) -> dict[str, dict[str, str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {name: {entry["code"]: entry["zh"] for entry in document[name]}
            for name in ("organisation_kinds", "event_kinds", "campaigns")}


def catalogue(workflows_dir: Path) -> dict[str, dict[str, str]]:
    """code → Chinese name of each vocabulary in ``workflows/community.json`` (re-read when it changes)."""
    path = workflows_dir / "community.json"
    return _catalogue(path, path.stat().st_mtime)

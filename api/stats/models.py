"""The statistics' own table: ``case_facts`` (written by ``summary.py``, read by ``facts.py``)."""
from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId


class CaseFacts(Base):
    __tablename__ = "case_facts"
    # The cases whose flag a change of this case may unset (summary.refresh): a handful at most.
    __table_args__ = (Index("ix_case_facts_repeat_of", "repeat_of"),)

    case_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    counted: Mapped[int] = mapped_column(Integer)  # counted in 排查数: not cancelled, merged or a lead that is no dispute
    cases: Mapped[int] = mapped_column(Integer)
    leads: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    transferred: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    late_done: Mapped[int] = mapped_column(Integer)  # a task was completed after its due time
    revisited: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    emergencies: Mapped[int] = mapped_column(Integer)
    petitions: Mapped[int] = mapped_column(Integer)
    recurrences: Mapped[int] = mapped_column(Integer)
    one_key_calls: Mapped[int] = mapped_column(Integer)
    one_key_answered: Mapped[int] = mapped_column(Integer)
    one_key_in_time: Mapped[int] = mapped_column(Integer)
    one_key_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_signed: Mapped[int] = mapped_column(Integer)
    sign_late_done: Mapped[int] = mapped_column(Integer)  # a 首办 签收 was completed after its due time
    red_cases: Mapped[int] = mapped_column(Integer)
    leader_cases: Mapped[int] = mapped_column(Integer)
    red_revisits: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(200), nullable=True)  # a lead's source counts as its channel
    # 反复纠纷: the earlier dispute case that makes this one a repeat (facts.repeat_of), NULL if none.
    repeat_of: Mapped[int | None] = mapped_column(BigId, nullable=True)

"""engine.sandbox.timer_values: timer dates, durations and cycles within bounds, in constant time, and read
exactly as SpiffWorkflow reads them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.sandbox import SandboxError, timer_values

NOW = datetime(2026, 1, 31, 10, 0, tzinfo=timezone.utc)


def spiff_duration(text: str, start: datetime) -> timedelta:
    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), start)


durations = st.builds(
    lambda y, mo, w, d, h, mi, s: "P" + (f"{y}Y" if y else "") + (f"{mo}M" if mo else "") + (f"{d}D" if d else "")
    + (f"T{h}H{mi}M{s}S" if h or mi or s else "") if not w else f"P{w}W",
    st.integers(0, 3), st.integers(0, 30), st.integers(0, 100), st.integers(0, 400), st.integers(0, 48),
    st.integers(0, 90), st.integers(0, 90))
instants = st.datetimes(datetime(2000, 1, 1), datetime(2090, 12, 31), timezones=st.just(timezone.utc))


@settings(max_examples=200, derandomize=True)
@given(durations, instants)
def test_durations_are_counted_as_spiffworkflow_counts_them_in_constant_time(text, start):
    if text == "P":
        return
    expected = spiff_duration(text, start)
    assert timer_values.duration_after(start, text) == expected
    # The canonical form SpiffWorkflow is handed reads to the same instant.
    assert spiff_duration(timer_values.duration_value(text, start), start) == expected


@settings(max_examples=100, derandomize=True)
@given(st.integers(1, 120), instants)
def test_months_counted_back_from_an_end_match_spiffworkflow(months, end):
    expected = TimerEventDefinition.get_timedelta_from_end({"months": months}, end)
    assert timer_values.duration_before(end, f"P{months}M") == expected


@pytest.mark.parametrize("value", ["P99999999Y", "P11Y", "PT100000H", "P" + "9" * 90 + "D", "P600W"])
def test_durations_beyond_ten_years_are_out_of_bounds_without_any_calendar_walk(value):
    with pytest.raises(SandboxError) as info:
        timer_values.duration_value(value, NOW)
    assert info.value.kind == "out_of_bounds"


@pytest.mark.parametrize("value", ["2026-01-01", "tomorrow", "", "P", "P1.5M", "-P1D", "P" * 200, 3, None])
def test_what_is_not_a_duration_is_an_error(value):
    with pytest.raises(SandboxError) as info:
        timer_values.duration_value(value, NOW)
    assert info.value.kind == "error"


def test_dates_are_bounded_and_read_as_spiffworkflow_reads_them():
    assert timer_values.date_value("2026-05-01T09:00:00+08:00") == "2026-05-01T01:00:00+00:00"
    assert timer_values.date_value(datetime(2030, 1, 1, tzinfo=timezone.utc)) == "2030-01-01T00:00:00+00:00"
    assert timer_values.date_value("2026-W10-1") == TimerEventDefinition.parse_iso_week("2026-W10-1").isoformat()
    for value, kind in [("2100-01-02T00:00:00Z", "out_of_bounds"), ("P3D", "error"), ("31/12/2026", "error")]:
        with pytest.raises(SandboxError) as info:
            timer_values.date_value(value)
        assert info.value.kind == kind, value


@pytest.mark.parametrize("value", ["R3/PT1H", "R2/2026-05-01T09:00:00+08:00/P1D", "R2/P1M/2026-05-31T09:00:00Z",
                                   "R1000/PT1M", "R5/2026-02-28T00:00:00Z/P1M"])
def test_cycles_within_bounds_give_spiffworkflow_the_same_schedule(value):
    repetitions, start, period, canonical = timer_values.cycle(value, NOW)
    assert TimerEventDefinition.parse_iso_recurring_interval(canonical) == (repetitions, start, period)
    assert 1 <= repetitions <= 1000 and period >= timedelta(minutes=1) and start >= NOW


def test_a_cycle_that_started_in_the_past_begins_at_its_next_slot_instead_of_catching_up():
    repetitions, start, period, _ = timer_values.cycle("R10/2026-01-30T09:00:00Z/PT1H", NOW)
    assert (repetitions, start, period) == (10, datetime(2026, 1, 31, 10, 0, tzinfo=timezone.utc), timedelta(hours=1))
    _, start, _, _ = timer_values.cycle("R10/2026-01-30T09:30:00Z/PT1H", NOW)
    assert start == datetime(2026, 1, 31, 10, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, words", [
    ("R999999999/PT0S", "repeats 999999999 times"), ("R0/PT1H", "repeats 0 times"), ("R/P1D", "without end"),
    ("R5/PT59S", "more often than once a minute"), ("R5/P11Y", "ten years"),
    ("R5/2101-01-01T00:00:00Z/P1D", "after the latest allowed date"),
])
def test_cycles_beyond_the_bounds_are_refused(value, words):
    with pytest.raises(SandboxError) as info:
        timer_values.cycle_value(value, NOW)
    assert info.value.kind == "out_of_bounds" and words in info.value.message


def test_bare_iso_texts_are_literals_and_everything_else_an_expression():
    assert [timer_values.literal(t) for t in ["P3D", " PT2H ", "2026-05-01T09:00", "R3/PT1H", "2026-W10-1"]] == [
        "P3D", "PT2H", "2026-05-01T09:00", "R3/PT1H", "2026-W10-1"]
    assert [timer_values.literal(t) for t in ['"P3D"', "deadline", "sla_due('x')", "PT", "", None]] == [None] * 6

"""The scale benchmark's generator (tests/bench/bench_scale, `make bench-scale`) at a tiny size on the
test database: the city has the rows it says, the cases are real (every chain and replay verifies),
and the same seed builds the same city."""
from __future__ import annotations

import io
import random
import threading
from dataclasses import replace
from multiprocessing.pool import ThreadPool
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook
from sqlalchemy import func, select

from api.census.service import CensusItem, CensusPerson
from api.core.models import OrgUnit, User
from api.core import reach
from api.core.reach import CaseReach
from api.core.services import build_services
from api.stats import summary
from api.stats.models import CaseFacts
from engine.models import Attachment, Case, CaseEvent, CaseField
from cunliao.demo.cases import load_forms
from engine.models import PendingTimer
from tests.bench import bench_census
from tests.bench.bench_scale import build, completions, instructions, measure
from tests.bench.bench_scale import cases as case_runner
from tests.bench.bench_scale import paths
from tests.bench.bench_scale.sizes import Sizes

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def test_a_tiny_city_is_built_with_real_cases_that_verify(settings, monkeypatch):
    sizes = replace(Sizes.of(0.0005), cases=10)
    vacuumed, vacuum = [], build._vacuum
    monkeypatch.setattr(build, "_vacuum", lambda svc, tables="": (vacuumed.append(tables), vacuum(svc, tables)))
    built = build.build(settings, sizes, seed=3, workers=1, log=lambda message: None, now=NOW)
    assert vacuumed == ([""] if settings.database_url.startswith("postgresql") else [])  # and ANALYZE
    svc_db = build_services(settings).db
    with svc_db.read() as session:
        def count(model, *where):
            return session.scalar(select(func.count()).select_from(model).where(*where))
        assert count(OrgUnit, OrgUnit.kind == "grid") == sizes.grids
        assert count(User) == sizes.users
        assert count(CensusPerson) == sizes.people
        assert count(CensusItem, CensusItem.kind == "household") == sizes.households
        assert count(CensusItem, CensusItem.kind == "house") == sizes.households
        assert count(CensusItem, CensusItem.kind == "land") == sizes.parcels
        # every planned case, plus the dispute cases converted leads started by message
        assert sizes.cases <= count(Case) == built["rows"]["cases"]
        assert count(CaseEvent) == built["rows"]["events"] > 3 * sizes.cases
        assert count(Case, Case.status == "completed") > sizes.cases // 2
        assert count(Case, Case.created_at < datetime(2020, 1, 1, tzinfo=timezone.utc)) > 0  # ten years
        assert count(Attachment) == count(CaseEvent, CaseEvent.type == "attachment_added")
        assert count(CaseField, CaseField.name == "party_hash") > 0  # the parties' ID numbers, sealed and indexed
        people = list(session.scalars(select(CensusPerson).limit(3)))
        cases = list(session.scalars(select(Case)))
    # the workers skip the case_facts and case_reach hooks; the build writes the rows once, as the hooks would
    for table, refresh in ((CaseFacts.__table__, summary.refresh), (CaseReach.__table__, reach.refresh)):
        rows = select(table).order_by(*table.primary_key.columns)
        with svc_db.write_engine.begin() as conn:
            built_rows = conn.execute(rows).all()
            for case in cases:
                refresh(conn, case)
            assert built_rows and conn.execute(rows).all() == built_rows, table.name
    svc_db.dispose()
    for person in people:  # sealed as the app seals: Fernet, keyed hash, masked
        assert set(person.id_no) == {"$pii", "enc", "hash", "masked"} and person.id_hash == person.id_no["hash"]
    verdict = measure.verify_all(settings, log=lambda message: None)
    assert verdict["ok"] and verdict["cases"] == built["rows"]["cases"]


def test_completions_fire_the_due_timers_first_and_take_one_task_per_case_at_a_time(settings):
    """The city's clock stopped at the build (NOW, days ago): its due deadlines fire before any task
    is picked, as the timer worker would have fired them; then batches of one task per case, with
    new disputes started when the city has nothing left to do."""
    build.build(settings, replace(Sizes.of(0.0005), cases=8), seed=5, workers=1, log=lambda message: None, now=NOW)
    svc = build_services(settings)
    try:
        completions.fire_due_timers(svc)
        with svc.db.read() as session:
            assert not session.scalar(select(func.count()).select_from(PendingTimer).join(Case).where(
                PendingTimer.due_at < svc.clock.now(), Case.status.in_(("active", "waiting"))))
        forms = load_forms(settings.workflows_dir / "forms")
        batches = completions.batches(svc, forms, 30)
        done = 0
        for batch in batches:
            assert len({c.case_id for c in batch}) == len(batch)
            for c in batch:
                svc.cases.complete_task(c.task_id, c.data, c.user)
            done += len(batch)
        assert done == 30
    finally:
        svc.db.dispose()


def test_the_build_calls_its_vacuum_while_the_case_workers_run():
    """What autovacuum would do on a production server (build.py): called between waits, never
    after the workers are done. A thread pool stands in for the build's process pool."""
    release, calls = threading.Event(), []

    def every() -> None:
        calls.append(1)
        if len(calls) == 2:
            release.set()
    with ThreadPool(1) as pool:
        assert case_runner.wait_calling(pool.map_async(lambda _: release.wait(60), [None]), (0.001, every)) == [True]
    assert len(calls) >= 2


def test_the_instruction_count_is_read_from_callgrinds_totals_line(tmp_path):
    """With counting off at the start, callgrind writes ``summary: 0`` before the real ``totals:``."""
    out = tmp_path / "callgrind.out"
    out.write_text("version: 1\nevents: Ir\nsummary: 0\nfn=x\n1 5\ntotals: 5642109752\n")
    assert instructions._total(out) == 5642109752


def test_the_census_import_fills_no_grid_of_the_weekly_rounds():
    """A later ``--measure-only`` opens rounds of grids as large as the city made them, not larger
    by the people an earlier run imported."""
    sheet = load_workbook(io.BytesIO(bench_census.workbook(50, seed=29, grids=measure.IMPORT_GRIDS)))["人口信息"]
    imported = {row[5] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert imported == set(measure.IMPORT_GRIDS)
    assert not imported & {grid for _, grid in measure.ROUND_GRIDS}


def test_disputes_name_their_parties_by_id_number_and_a_few_come_back_within_90_days():
    grids = [{"code": f"g{i}", "name": f"村{i}第1网格"} for i in range(3)]
    planned = paths.plans(random.Random(5), 600, grids, NOW, 2)
    disputes = [(start, plan) for start, _, plan in planned if plan.answers.get("parties")]
    assert disputes and all(p.get("id_no") for _, plan in disputes for p in plan.answers["parties"])
    seen: dict[str, tuple] = {}
    repeats = 0
    for start, plan in disputes:
        for party in plan.answers["parties"]:
            earlier = seen.get(party["id_no"])
            repeats += earlier is not None and earlier[1] == plan.grid and start - earlier[0] <= timedelta(days=90)
            seen[party["id_no"]] = (start, plan.grid)
    assert 0 < repeats < len(disputes) // 10

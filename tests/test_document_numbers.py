"""Document numbers per issuing unit, kind and year: issued at the same time from many threads, they
neither repeat nor skip (on SQLite and PostgreSQL alike)."""
from __future__ import annotations

import threading

from sqlalchemy import select

from api.core.auth import Principal
from api.documents import service
from api.documents.models import Document, DocumentCounter

GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
PARTIES = [{"role": "申请人", "name": "张某"}, {"role": "被申请人", "name": "李某"}]
THREADS = 8


def person(username: str, unit_path: str) -> Principal:
    return Principal(id=0, username=username, display_name=username, roles=frozenset({"village_mediator"}),
                     unit_path=unit_path, unit_name="")


def issue_together(svc, jobs) -> list:
    """Run ``jobs`` (callables) at the same instant, one thread each; their results or exceptions."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        start.wait()
        try:
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - the test reports it
            results[index] = exc
    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_issues_of_one_unit_get_consecutive_numbers(svc, library):
    cases = [svc.cases.start("village_mediation", {"parties": PARTIES}, "grid", GRID, f"纠纷{i}").case.id
             for i in range(THREADS)]
    mediator = person("mediator", "/macheng/songbu/songbu-yangjiawan/")
    results = issue_together(svc, [lambda c=c: service.issue(svc, c, "notice", mediator) for c in cases])
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = sorted(r.number for r in results)
    assert numbers == [f"杨家湾〔2026〕告字第{n:04d}号" for n in range(1, THREADS + 1)]
    with svc.db.read() as session:
        counter = session.scalars(select(DocumentCounter).where(DocumentCounter.kind == "notice")).one()
        assert counter.last == THREADS
        assert len({d.code for d in session.scalars(select(Document))}) == THREADS


def test_units_and_kinds_count_apart_and_a_failed_issue_gives_its_number_back(svc, library):
    session = {"session_date": "2026-03-05", "session_record": "双方陈述并同意再次协商。"}
    village = svc.cases.start("village_mediation", {"parties": PARTIES, **session}, "grid", GRID, "纠纷").case.id
    bare = svc.cases.start("village_mediation", {}, "grid", GRID, "无当事人").case.id
    mediator = person("mediator", "/macheng/songbu/songbu-yangjiawan/")
    grid = person("grid", GRID)  # a grid worker issues for the village of their grid
    town = person("town", "/macheng/songbu/")
    results = issue_together(svc, [
        lambda: service.issue(svc, village, "session_record", mediator),
        lambda: service.issue(svc, bare, "notice", mediator),  # refused: no parties
        lambda: service.issue(svc, village, "notice", grid),
        lambda: service.issue(svc, village, "session_record", town),
    ])
    assert isinstance(results[1], Exception) and getattr(results[1], "status", None) == 422
    by = {(r.issuer, r.kind): r.number for r in results if not isinstance(r, Exception)}
    assert by == {("宋埠镇杨家湾村人民调解委员会", "notice"): "杨家湾〔2026〕告字第0001号",
                  ("宋埠镇人民调解委员会", "session_record"): "宋埠〔2026〕录字第0001号",
                  ("宋埠镇杨家湾村人民调解委员会", "session_record"): "杨家湾〔2026〕录字第0001号"}

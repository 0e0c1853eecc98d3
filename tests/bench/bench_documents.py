#!/usr/bin/env python3
"""Documents benchmark (part of `make bench`): agreements issued per second, and the case file
(一案一卷) of a closed 30-step case.

- ``agreements_per_s``: 调解协议书 issued by two processes at once (the 2-core machine's web workers),
  each on its own cases for its own village committee (two number series; one series contended by
  both is covered by tests/test_document_numbers.py): data read, typeset with Typst, numbered,
  stored, sealed — the whole ``api.documents.service.issue``. Goal: at least 20 per second.
  ``agreements_per_s_one_process`` is the same in one process, ``agreement_cpu_ms`` its CPU time
  per agreement (SQLite and Typst run in the process), which other work on the machine does not
  inflate.
- ``case_file_s_30_steps``: issuing the case file of a case closed after 30 completed steps, holding
  its agreement, notice and two session records (median of 5). Goal: at most 2 s.

SQLite in a temp dir. Run alone: ``.venv/bin/python tests/bench/bench_documents.py`` prints one JSON line.
"""
from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.core.auth import Principal  # noqa: E402
from api.core.config import Settings  # noqa: E402
from api.core.services import build_services  # noqa: E402
from api.documents import service  # noqa: E402
from api.people.seed import seed_demo, sync_reference_data  # noqa: E402
from cunliao.cli import SOURCE_SUFFIXES, migrate  # noqa: E402
from engine.clock import FakeClock  # noqa: E402
from engine.definitions import SourceFile  # noqa: E402

LOOP = ROOT / "tests" / "fixtures" / "t_loop.bpmn"
GRID = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
MEDIATOR = Principal(id=0, username="mediator", display_name="村调解员 王调解", roles=frozenset({"village_mediator"}),
                     unit_path="/macheng/songbu/songbu-yangjiawan/", unit_name="杨家湾村")
# The second web worker serves another village's committee (its own number series).
NEIGHBOUR = Principal(id=0, username="mediator2", display_name="村调解员 张调解", roles=frozenset({"village_mediator"}),
                      unit_path="/macheng/songbu/songbu-xindian/", unit_name="新店村")
DATA = {
    "parties": [{"role": "申请人", "name": "张某", "phone": "13812345678", "id_no": "421181199001011234"},
                {"role": "被申请人", "name": "李某", "phone": "13987654321"}],
    "facts_and_issues": "两户房屋之间的排水沟因长期未清理而堵塞，雨水倒灌至申请人家中，造成家具受潮损坏；"
                        "经查双方均有责任，被申请人一侧堆放建筑垃圾，负主要责任。" * 3,
    "agreement_text": "一、被申请人于2026年3月15日前赔偿申请人家具损失1,200元。二、双方于3月10日前共同清理排水沟，"
                      "费用各半；今后每年雨季前共同清理一次。三、被申请人清除堆放的建筑垃圾。",
    "performance_method": "现金或银行转账；共同出工", "performance_due": "2026-03-15", "copies": 3,
    "mediators": [{"name": "李调解"}], "session_date": "2026-03-05", "session_record": "双方陈述并同意调解方案。" * 5,
}
AGREEMENTS_PER_PROCESS = 60
TARGET_PER_S, TARGET_CASE_FILE_S = 20, 2.0


def build(tmp: Path) -> str:
    url = f"sqlite:///{tmp}/documents.db"
    migrate(url)
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=timezone.utc))
    svc = build_services(Settings(database_url=url, attachments_dir=tmp / "files"), clock)
    files = [SourceFile(p.name, p.read_bytes()) for d in ("bpmn", "forms", "documents")
             for p in sorted((ROOT / "workflows" / d).iterdir()) if p.name.endswith(SOURCE_SUFFIXES)]
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, svc.settings.workflows_dir)
        seed_demo(session, "bench-password", clock.now())
    with svc.db.write() as session, session.begin():  # the SLA keys just seeded are read by the deploy
        svc.registry.deploy(session, files + [SourceFile(LOOP.name, LOOP.read_bytes())], "bench", clock.now())
    svc.db.dispose()
    return url


def services(url: str, tmp: Path):
    return build_services(Settings(database_url=url, attachments_dir=tmp / "files"))


def issue_batch(args) -> tuple[int, float, float, float]:
    """(agreements, start and end on the wall clock, CPU seconds of this process) issuing one per case."""
    url, tmp, case_ids, issuer = args
    svc = services(url, Path(tmp))
    service.issue(svc, case_ids[0], "notice", issuer)  # warm up: fonts, template cache
    started, cpu = time.time(), time.process_time()
    for case_id in case_ids:
        service.issue(svc, case_id, "agreement", issuer)
    ended, cpu = time.time(), time.process_time() - cpu
    svc.db.dispose()
    return len(case_ids), started, ended, cpu


def agreement_rates(url: str, tmp: Path) -> tuple[float, float, float, float]:
    svc = services(url, tmp)
    cases = [svc.cases.start("village_mediation", DATA, "grid", GRID, f"排水沟纠纷{i}").case.id
             for i in range(3 * AGREEMENTS_PER_PROCESS)]
    svc.db.dispose()
    count, started, ended, cpu = issue_batch((url, str(tmp), cases[:AGREEMENTS_PER_PROCESS], MEDIATOR))
    one, cpu_ms = count / (ended - started), cpu / count * 1000
    halves = [cases[AGREEMENTS_PER_PROCESS::2], cases[AGREEMENTS_PER_PROCESS + 1::2]]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        jobs = [(url, str(tmp), half, issuer) for half, issuer in zip(halves, (MEDIATOR, NEIGHBOUR))]
        done = pool.map(issue_batch, jobs)
    # from the first worker's start to the last one's end (each warmed up before its clock started)
    wall = max(end for _, _, end, _ in done) - min(start for _, start, _, _ in done)
    return sum(n for n, _, _, _ in done) / wall, one, wall, cpu_ms


def case_file_seconds(url: str, tmp: Path, reps: int = 5) -> tuple[float, int, int]:
    svc = services(url, tmp)
    view = svc.cases.start("t_loop", {"rounds": 30, **DATA}, "grid", GRID, "三十步的纠纷")
    case_id = view.case.id
    for kind in ("agreement", "notice", "session_record", "session_record"):
        service.issue(svc, case_id, kind, MEDIATOR)
    for i in range(30):
        view = svc.cases.complete_task(view.tasks[0].id, {"note": f"第{i + 1}次调解"}, "mediator")
    assert view.case.status == "completed", view.case.status
    times, pages = [], 0
    for _ in range(reps):
        started = time.perf_counter()
        document = service.issue(svc, case_id, "case_file", MEDIATOR)
        times.append(time.perf_counter() - started)
        pages = document.pages
    events = svc.cases.view(case_id).case.event_seq
    svc.db.dispose()
    return statistics.median(times), pages, events


def measure() -> dict:
    with tempfile.TemporaryDirectory(prefix="cunliao-documents-bench-") as name:
        tmp = Path(name)
        url = build(tmp)
        two, one, wall, cpu_ms = agreement_rates(url, tmp)
        case_file, pages, events = case_file_seconds(url, tmp)
    return {"bench": "documents", "agreements_per_s": round(two, 1), "agreements_per_s_one_process": round(one, 1),
            "agreements_two_processes_wall_s": round(wall, 2), "agreement_cpu_ms": round(cpu_ms, 1),
            "case_file_s_30_steps": round(case_file, 3),
            "case_file_pages": pages, "case_file_events": events,
            "target_agreements_per_s": TARGET_PER_S, "target_case_file_s": TARGET_CASE_FILE_S,
            "ok": two >= TARGET_PER_S and case_file <= TARGET_CASE_FILE_S}


if __name__ == "__main__":
    print(json.dumps(measure(), ensure_ascii=False), flush=True)

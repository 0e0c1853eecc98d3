"""The JSON line: sizes, build figures, latencies, the goals of issue #19 and whether each is met."""
from __future__ import annotations

import os
import platform
import re
from datetime import datetime, timezone

# The goals on 2 cores with PostgreSQL (issue #19, part 3): group -> (figure, bound)
GOALS = {"inbox_counts_grid": ("p95_ms", 100), "inbox_counts_town": ("p95_ms", 100),
         "case_list_filters": ("p95_ms", 200), "task_completion": ("p95_ms", 50), "kpis_city_year": ("p95_ms", 500),
         "census_search_name": ("p95_ms", 100), "census_search_id": ("p95_ms", 100)}
VERIFY_GOAL = 20_000   # events/s
RSS_GOAL_MB = 300      # per web worker


def safe_url(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


def line(sizes, built: dict | None, measured: dict | None, url: str, load_before, load_after, seconds: float) -> dict:
    out = {"bench": "scale", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": f"{platform.node()} {os.cpu_count()} cpu {platform.machine()}",
           "database": url.split(":", 1)[0], "scale": sizes.scale, "sizes": sizes.as_dict(),
           "load_avg_before": [round(x, 2) for x in load_before], "load_avg_after": [round(x, 2) for x in load_after],
           "total_s": round(seconds, 1)}
    if built:
        out["build"] = built
        cases_s = built["seconds"]["cases_s"]
        # The engine's part grows with the cases; the bulk part with the census: estimate both to 1.0.
        per_case = cases_s / max(1, built["rows"]["cases"])
        bulk_s = built["seconds"]["org_s"] + built["seconds"]["census_s"]
        out["full_scale_estimate_min"] = round((per_case * 100_000 + bulk_s / sizes.scale) / 60)
    if measured:
        out.update(measured)
        ok = {}
        for group, (figure, bound) in GOALS.items():
            value = measured["groups"].get(group, {}).get(figure)
            ok[group] = value is not None and value <= bound
        ok["verify_events_per_s"] = measured["verify"]["events_per_s"] >= VERIFY_GOAL
        ok["rss_per_worker"] = all(w <= RSS_GOAL_MB for w in measured["rss_mb"]["workers"])
        out["goals"] = {**{g: f"{f} <= {b}" for g, (f, b) in GOALS.items()},
                        "verify_events_per_s": f">= {VERIFY_GOAL}", "rss_per_worker": f"<= {RSS_GOAL_MB} MB"}
        out["ok"] = ok
    return out

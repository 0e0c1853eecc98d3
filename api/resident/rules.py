"""The resident channel's rules, from ``workflows/resident.json``: the kinds of matter in plain words
and the limits (which ``RESIDENT_LIMITS``, a JSON object, may override, e.g. for a load test)."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Text a resident types must be text: markup or script is refused with a message, not stored.
MARKUP = re.compile(r"<\s*[a-zA-Z!/?]|javascript\s*:|\bon[a-z]+\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    code_ttl_seconds: int
    code_attempts: int
    code_resend_seconds: int
    codes_per_phone_hour: int
    codes_per_address_hour: int
    reports_per_phone_hour: int
    reports_per_address_hour: int
    repeat_window_seconds: int
    photos: int
    photo_bytes: int
    description_min: int
    description_max: int


@dataclass(frozen=True)
class Rules:
    categories: tuple[tuple[str, str], ...]  # (value, plain label)
    limits: Limits

    def category_label(self, value: str) -> str:
        return dict(self.categories).get(value, value)


@lru_cache(maxsize=4)
def load(workflows_dir: Path, override: str | None = None) -> Rules:
    raw = json.loads((workflows_dir / "resident.json").read_text(encoding="utf-8"))
    limits = dict(raw["limits"])
    if override:
        limits.update({k: int(v) for k, v in json.loads(override).items() if k in limits})
    return Rules(tuple((c["value"], c["label"]) for c in raw["categories"]), Limits(**limits))


def rules(settings) -> Rules:
    return load(settings.workflows_dir, os.environ.get("RESIDENT_LIMITS") or None)

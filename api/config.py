"""Settings, read from the environment once at start-up (the README lists them)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from engine.db import default_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_PASSWORD = "cunliao-demo"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class Settings:
    database_url: str = field(default_factory=default_url)
    secret_key: str = field(default_factory=lambda: os.environ.get("SECRET_KEY") or secrets.token_hex(32))
    demo_password: str = field(default_factory=lambda: os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD))
    token_ttl_seconds: int = field(default_factory=lambda: _int("TOKEN_TTL_SECONDS", 8 * 3600))
    case_prefix: str = field(default_factory=lambda: os.environ.get("CASE_PREFIX", "MC"))
    host: str = field(default_factory=lambda: os.environ.get("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("PORT", 8000))
    web_workers: int = field(default_factory=lambda: _int("WEB_WORKERS", 2))
    worker_poll_seconds: float = field(default_factory=lambda: float(os.environ.get("WORKER_POLL_SECONDS", "0.2")))
    max_upload_bytes: int = field(default_factory=lambda: _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    workflows_dir: Path = ROOT / "workflows"

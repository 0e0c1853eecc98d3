"""Settings, read from the environment once at start-up (the README lists them)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from engine.db import default_url

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEMO_PASSWORD = "cunliao-demo"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class Settings:
    database_url: str = field(default_factory=default_url)
    # A read-only streaming replica the statistics read from (docs/scaling.md); unset: the primary.
    replica_url: str = field(default_factory=lambda: os.environ.get("DATABASE_REPLICA_URL", ""))
    secret_key: str = field(default_factory=lambda: os.environ.get("SECRET_KEY") or secrets.token_hex(32))
    demo_password: str = field(default_factory=lambda: os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD))
    token_ttl_seconds: int = field(default_factory=lambda: _int("TOKEN_TTL_SECONDS", 8 * 3600))
    case_prefix: str = field(default_factory=lambda: os.environ.get("CASE_PREFIX", "MC"))
    host: str = field(default_factory=lambda: os.environ.get("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("PORT", 8000))
    web_workers: int = field(default_factory=lambda: _int("WEB_WORKERS", 2))
    # address space of each server and worker process: the hard bound on what a runaway script can take
    process_memory_mb: int = field(default_factory=lambda: _int("PROCESS_MEMORY_LIMIT_MB", 2048))
    worker_poll_seconds: float = field(default_factory=lambda: float(os.environ.get("WORKER_POLL_SECONDS", "0.2")))
    max_upload_bytes: int = field(default_factory=lambda: _int("MAX_UPLOAD_BYTES", 21 * 1024 * 1024))
    # Demo mode: seeded accounts keep their demo password. Outside it they must change it first.
    demo_mode: bool = field(default_factory=lambda: _bool("DEMO_MODE", True))
    # Send the web session cookie over HTTPS only; turn on behind TLS.
    session_cookie_secure: bool = field(default_factory=lambda: _bool("SESSION_COOKIE_SECURE", False))
    # Case attachments live on disk (named by sha256), not in the database.
    attachments_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("ATTACHMENTS_DIR", "var/attachments")).resolve())
    notify_webhook_url: str = field(default_factory=lambda: os.environ.get("NOTIFY_WEBHOOK_URL", ""))
    # Encrypts ID numbers and phones (Fernet key: `python -c "from cryptography.fernet import Fernet;
    # print(Fernet.generate_key().decode())"`). Demo mode falls back to a published development key.
    pii_key: str = field(default_factory=lambda: os.environ.get("PII_KEY", ""))
    workflows_dir: Path = ROOT / "workflows"
    # Log lines as JSON objects (for a log shipper) or as text.
    log_format: str = field(default_factory=lambda: os.environ.get("LOG_FORMAT", "json"))
    # Bearer token that lets a scraper on another host read /metrics (this host may without it).
    metrics_token: str = field(default_factory=lambda: os.environ.get("METRICS_TOKEN", ""))
    # Where people reach this server: the QR code on every document opens {public_url}/verify/{code}.
    public_url: str = field(default_factory=lambda: os.environ.get("PUBLIC_URL", ""))

    def __post_init__(self) -> None:
        self.public_url = (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
        if not self.pii_key:
            if not self.demo_mode:
                raise RuntimeError("PII_KEY must be set outside demo mode (it encrypts ID numbers and phones)")
            from .pii import DEMO_KEY
            self.pii_key = DEMO_KEY

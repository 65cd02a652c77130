"""Configuration in one place: environment variables with documented embedded defaults.

Read once at start-up (`Settings.from_env()`) and passed down; nothing deeper reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything the engine, the web app and the workers need to know about their surroundings."""

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'motcua.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: "embedded" (one process, in-process worker, demo data allowed) or "production"
    mode: str = "embedded"
    #: "inprocess" (a thread in the web process) or "celery" (separate worker processes)
    worker: str = "inprocess"
    secret_key: str = "embedded-demo-secret-change-me"
    processes_dir: Path = PROJECT_ROOT / "processes"
    data_dir: Path = PROJECT_ROOT / "var"
    public_url: str = "http://127.0.0.1:5000"
    #: Outbox retry policy: attempts before an incident, first back-off and its cap (seconds).
    outbox_max_attempts: int = 5
    outbox_backoff_base: float = 2.0
    outbox_backoff_cap: float = 300.0
    #: A claimed outbox row is retried by another worker once this lease has expired.
    outbox_lease_seconds: float = 60.0
    script_time_limit: float = 1.0
    token_ttl_hours: int = 12
    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        data_dir = Path(env.get("MOTCUA_DATA_DIR", str(defaults.data_dir)))
        values: dict[str, Any] = {
            "database_url": env.get("MOTCUA_DATABASE_URL", f"sqlite:///{data_dir / 'motcua.db'}"),
            "redis_url": env.get("MOTCUA_REDIS_URL", defaults.redis_url),
            "mode": env.get("MOTCUA_MODE", defaults.mode),
            "worker": env.get("MOTCUA_WORKER", defaults.worker),
            "secret_key": env.get("MOTCUA_SECRET_KEY", defaults.secret_key),
            "processes_dir": Path(env.get("MOTCUA_PROCESSES_DIR", str(defaults.processes_dir))),
            "data_dir": data_dir,
            "public_url": env.get("MOTCUA_PUBLIC_URL", defaults.public_url),
            "outbox_max_attempts": int(env.get("MOTCUA_OUTBOX_MAX_ATTEMPTS", defaults.outbox_max_attempts)),
            "outbox_backoff_base": float(env.get("MOTCUA_OUTBOX_BACKOFF_BASE", defaults.outbox_backoff_base)),
            "outbox_backoff_cap": float(env.get("MOTCUA_OUTBOX_BACKOFF_CAP", defaults.outbox_backoff_cap)),
            "outbox_lease_seconds": float(env.get("MOTCUA_OUTBOX_LEASE_SECONDS", defaults.outbox_lease_seconds)),
            "script_time_limit": float(env.get("MOTCUA_SCRIPT_TIME_LIMIT", defaults.script_time_limit)),
            "connectors": _connector_config(env),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that must never reach production."""
        if self.mode not in ("embedded", "production"):
            raise ValueError(f"MOTCUA_MODE must be 'embedded' or 'production', not {self.mode!r}")
        if self.mode == "production" and self.secret_key == Settings.secret_key:
            raise ValueError("Production mode refuses the default MOTCUA_SECRET_KEY; set a secret of your own")


def _connector_config(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Connector settings from MOTCUA_SMTP_* (more connectors add their variables here)."""
    return {
        "email": {
            "host": env.get("MOTCUA_SMTP_HOST", "127.0.0.1"),
            "port": int(env.get("MOTCUA_SMTP_PORT", "8025")),
            "sender": env.get("MOTCUA_SMTP_SENDER", "motcua@ubnd.demo.gov.vn"),
            "timeout": float(env.get("MOTCUA_SMTP_TIMEOUT", "10")),
            "starttls": env.get("MOTCUA_SMTP_STARTTLS", "0") == "1",
            "username": env.get("MOTCUA_SMTP_USERNAME") or None,
            "password": env.get("MOTCUA_SMTP_PASSWORD") or None,
        },
    }

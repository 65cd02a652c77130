"""Configuration in one place: environment variables with documented embedded defaults.

Read once at start-up (`Settings.from_env()`) and passed down; nothing deeper reads `os.environ`.

Connectors: every connector has its variables under one prefix (`MOTCUA_SMTP_*` for e-mail,
`MOTCUA_SMS_*`, `MOTCUA_DVCQG_*`, `MOTCUA_DVCQG_PAYMENT_*`, `MOTCUA_LOCAL_SIGNING_*`,
`MOTCUA_REMOTE_SIGNING_*`, `MOTCUA_VDXP_*`, `MOTCUA_VNEID_*`) and a switch
`MOTCUA_<PREFIX>_ENABLED` (1/0).

* **Embedded** (default): every connector is on and points at its simulator on loopback
  (`MOTCUA_<PREFIX>_PORT`, defaults 8025-8031, which `motcua run` / `motcua simulators` start),
  with demo credentials. Local signing uses the test CA that `engine.simulators.ensure_pki`
  creates in `data_dir/pki` at setup; until it exists local signing stays off.
* **Production**: nothing points at a simulator and no demo credential is used. A connector is
  enabled only if its address variable is set explicitly (`MOTCUA_SMTP_HOST`, `MOTCUA_SMS_URL`,
  `MOTCUA_DVCQG_URL`, `MOTCUA_DVCQG_PAYMENT_INIT_URL`, `MOTCUA_LOCAL_SIGNING_PKCS12`,
  `MOTCUA_REMOTE_SIGNING_URL`, `MOTCUA_VDXP_URL`, `MOTCUA_VNEID_ISSUER`); the credentials it needs
  must be set too, or the start-up stops naming the missing setting. `MOTCUA_<PREFIX>_ENABLED=1`
  without the address is refused.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Simulators listen on loopback only: they are test doubles, never services for other machines.
LOOPBACK = "127.0.0.1"

#: Where each connector's simulator listens (connector id -> port); `MOTCUA_<PREFIX>_PORT` overrides.
DEFAULT_SIMULATOR_PORTS: dict[str, int] = {
    "email": 8025,
    "sms": 8026,
    "dvcqg": 8027,
    "dvcqg_payment": 8028,
    "remote_signing": 8029,
    "vdxp": 8030,
    "vneid": 8031,
}

#: Connector id -> prefix of its variables (`MOTCUA_<PREFIX>_...`); e-mail keeps its SMTP name.
ENV_PREFIX: dict[str, str] = {
    "email": "SMTP",
    "sms": "SMS",
    "dvcqg": "DVCQG",
    "dvcqg_payment": "DVCQG_PAYMENT",
    "local_signing": "LOCAL_SIGNING",
    "remote_signing": "REMOTE_SIGNING",
    "vdxp": "VDXP",
    "vneid": "VNEID",
}

#: The variable that must be set explicitly for a connector to be enabled in production mode.
PRODUCTION_ADDRESS: dict[str, str] = {
    "email": "HOST",
    "sms": "URL",
    "dvcqg": "URL",
    "dvcqg_payment": "INIT_URL",
    "local_signing": "PKCS12",
    "remote_signing": "URL",
    "vdxp": "URL",
    "vneid": "ISSUER",
}

#: Connector id -> the Celery queue its outbox calls go to (engine/jobs.py), one queue per worker pool:
#: signing keys, mail and SMS relays, the national portal, the document exchange and the CPU-heavy
#: rendering can then run on machines of their own. `documents` is the engine's own rendering job
#: (engine/paperwork.CONNECTOR); "*" is the queue of every connector not listed, and the queue of the
#: beat's sweep and clock. MOTCUA_OUTBOX_QUEUES replaces the whole table.
DEFAULT_OUTBOX_QUEUES: dict[str, str] = {
    "local_signing": "signing",
    "remote_signing": "signing",
    "email": "notify",
    "sms": "notify",
    "dvcqg": "portal",
    "dvcqg_payment": "portal",
    "vdxp": "exchange",
    "documents": "documents",
    "*": "default",
}

#: What may name a queue: letters, digits, "_", "-", "." (Redis keys and command lines stay plain).
QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

#: The demo agencies with a mailbox on the exchange simulator (secret `lienthong-<OrganId>` by default).
DEMO_EXCHANGE_AGENCIES = tuple(f"000.00.{n}.H99" for n in range(21, 27))

#: The files `integrations.signing.create_test_ca` writes in `data_dir/pki`.
TEST_CA_FILES = {"pkcs12": "signer.p12", "ca_cert": "ca.pem", "passphrase": "passphrase.txt"}


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
    #: Reverse proxies in front of the web processes (0: none). With one or more, the client address
    #: (audit origin, rate limits) is read from X-Forwarded-For that many hops back, never trusted otherwise.
    proxy_hops: int = 0
    #: Outbox retry policy: attempts before an incident, first back-off and its cap (seconds).
    outbox_max_attempts: int = 5
    outbox_backoff_base: float = 2.0
    outbox_backoff_cap: float = 300.0
    #: A claimed outbox row is retried by another worker once this lease has expired.
    outbox_lease_seconds: float = 60.0
    #: A Celery worker child (prefork pool) whose resident memory passed this many MiB is replaced once its
    #: call is done (Celery's worker_max_memory_per_child); 0: never. A backstop against native leaks in
    #: the libraries under PDF rendering and signing: a worker holds about 200 MiB (bench/memory.py).
    worker_max_memory_mib: int = 1024
    #: connector id -> Celery queue of its calls, "*" for the rest (MOTCUA_OUTBOX_QUEUES, DEFAULT_OUTBOX_QUEUES)
    outbox_queues: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_OUTBOX_QUEUES))
    #: SMS delivery reports: how long after sending the gateway is asked (hours), and at most how
    #: often per message (seconds); see engine/services/notices.py
    sms_status_window_hours: float = 48.0
    sms_status_interval_seconds: float = 60.0
    #: How long a call may stay "in progress elsewhere" (a signer approving on their phone, a
    #: document still being produced) before it becomes an incident.
    outbox_pending_hours: float = 72.0
    script_time_limit: float = 1.0
    token_ttl_hours: int = 12
    #: office hours (morning and afternoon) and the default same-day cut-off of the legal clock
    office_morning: str = "07:30-11:30"
    office_afternoon: str = "13:30-17:00"
    same_day_cutoff: str = "15:00"
    #: connector id -> its settings (`{"enabled": False, ...}` keeps it listed but off)
    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: connector id -> loopback port of its simulator (0: let the OS choose, for tests)
    simulator_ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SIMULATOR_PORTS))
    #: OrganId -> secret key of the agencies with a mailbox on the exchange simulator
    exchange_agencies: Mapping[str, str] = field(default_factory=dict)
    #: where the payment simulator POSTs its signed confirms (None: only QUERY tells the outcome)
    payment_callback_url: str | None = None
    #: whether the remote-signing simulator approves every request at once (the demo's default);
    #: off, a leader approves on the simulator's phone page (`<simulator>/app`)
    remote_signing_auto_approve: bool = True
    #: Retention (lưu trữ hồ sơ, engine/retention.py): years after a dossier finished before
    #: `motcua retention` erases its personal data, unless its procedure.json sets `retention_years`
    #: (MOTCUA_RETENTION_YEARS). *verify*: DOMAIN.md gives no period; the archive schedule
    #: (Thông tư 10/2022/TT-BNV and sector rules) may require longer for some procedures.
    retention_years: int = 5
    #: Session cookie sent over HTTPS only (MOTCUA_SECURE_COOKIES). Unset (None): on, except in the
    #: embedded mode served on plain http (public_url "http://...", the laptop demo); see `cookies_secure`.
    secure_cookies: bool | None = None
    #: A page session ends after this long without a request, and in any case this long after login.
    session_idle_minutes: int = 30
    session_lifetime_hours: float = 12.0
    #: Login throttling (engine/services/login_throttle.py): this many failed logins for one username
    #: within the window lock it for the lockout; one client address gets `login_ip_max_failures`.
    login_max_failures: int = 5
    login_ip_max_failures: int = 20
    login_window_minutes: float = 15.0
    login_lockout_minutes: float = 15.0
    #: Public tracking per client address (flask-limiter syntax, ";" between limits; "" = unlimited).
    tracking_rate_limit: str = "30/minute;300/hour"
    #: Where rate-limit counters live (a limits storage URI). "" = Redis (`redis_url`) when the app
    #: already depends on it (worker "celery", several processes), else memory (one embedded process).
    rate_limit_storage: str = ""
    #: prefix of the counters' keys, so installations (or tests) sharing a Redis do not mix counts
    rate_limit_prefix: str = "motcua"
    #: Largest request body the web app reads, in MiB (MOTCUA_MAX_REQUEST_MB, default 20): a bigger one
    #: is answered 413 before it is read. Uploads have their own, smaller per-file limits.
    max_request_mb: int = 20
    #: A hot standby the reports read from (MOTCUA_REPORTS_DATABASE_URL, PostgreSQL); None: the primary.
    reports_database_url: str | None = None
    #: How long a report waits for that standby to replay the primary's latest WAL, in seconds
    #: (MOTCUA_REPORTS_REPLICA_WAIT); past it, the figures the standby has are read (engine/reports/replica.py).
    reports_replica_wait: float = 2.0
    #: Where uploads, documents and received files are kept (MOTCUA_FILE_STORE): "" = `data_dir/files`;
    #: `s3://bucket/prefix` = an S3-compatible bucket every node shares (engine/documents/object_store.py).
    file_store: str = ""
    #: The object store's endpoint (MOTCUA_S3_ENDPOINT_URL: MinIO, Ceph, a provider's); None: AWS's own.
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    #: "path" (bucket in the path, what MinIO and most S3-compatible servers expect), "virtual" or "auto"
    s3_addressing_style: str = "path"

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @property
    def cookies_secure(self) -> bool:
        """Production cookies are HTTPS-only; the embedded demo on http://127.0.0.1 would otherwise
        have a login that silently never sticks (browsers drop Secure cookies over plain http)."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return not (self.embedded and self.public_url.startswith("http://"))

    @property
    def rate_limit_storage_uri(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        return self.redis_url if self.worker == "celery" else "memory://"

    def outbox_queue(self, connector: str) -> str:
        """The Celery queue of a connector's calls: its own entry, else the "*" (fallback) queue."""
        queues = self.outbox_queues
        return queues.get(connector) or queues.get("*") or DEFAULT_OUTBOX_QUEUES["*"]

    @cached_property
    def outbox_routes(self) -> tuple[tuple[str, str], ...]:
        """The connector -> queue table, the "*" (fallback) entry first and the rest sorted, hashable:
        the key of the outbox's statements built once per pool (engine/outbox.py)."""
        return (("*", self.outbox_queue("*")),
                *sorted((c, q) for c, q in self.outbox_queues.items() if c != "*"))

    @property
    def outbox_queue_names(self) -> list[str]:
        """Every queue of the table, the fallback first (what a worker started without -Q consumes)."""
        fallback = self.outbox_queue("*")
        return [fallback, *sorted(set(self.outbox_queues.values()) - {fallback})]

    @property
    def pki_dir(self) -> Path:
        """The embedded test CA (never committed: created at setup by `engine.simulators.ensure_pki`)."""
        return self.data_dir / "pki"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        data_dir = Path(env.get("MOTCUA_DATA_DIR", str(defaults.data_dir)))
        mode = env.get("MOTCUA_MODE", defaults.mode)
        public_url = env.get("MOTCUA_PUBLIC_URL", defaults.public_url)
        ports = {cid: _env_number(env, f"MOTCUA_{ENV_PREFIX[cid]}_PORT", port, int)
                 for cid, port in DEFAULT_SIMULATOR_PORTS.items()}
        values: dict[str, Any] = {
            "database_url": env.get("MOTCUA_DATABASE_URL", f"sqlite:///{data_dir / 'motcua.db'}"),
            "redis_url": env.get("MOTCUA_REDIS_URL", defaults.redis_url),
            "mode": mode,
            "worker": env.get("MOTCUA_WORKER", defaults.worker),
            "secret_key": env.get("MOTCUA_SECRET_KEY", defaults.secret_key),
            "processes_dir": Path(env.get("MOTCUA_PROCESSES_DIR", str(defaults.processes_dir))),
            "data_dir": data_dir,
            "public_url": public_url,
            "proxy_hops": _env_number(env, "MOTCUA_PROXY_HOPS", defaults.proxy_hops, int),
            "outbox_max_attempts": _env_number(env, "MOTCUA_OUTBOX_MAX_ATTEMPTS", defaults.outbox_max_attempts, int),
            "outbox_backoff_base": _env_number(env, "MOTCUA_OUTBOX_BACKOFF_BASE", defaults.outbox_backoff_base),
            "outbox_backoff_cap": _env_number(env, "MOTCUA_OUTBOX_BACKOFF_CAP", defaults.outbox_backoff_cap),
            "outbox_lease_seconds": _env_number(env, "MOTCUA_OUTBOX_LEASE_SECONDS", defaults.outbox_lease_seconds),
            "outbox_queues": _outbox_queues(env.get("MOTCUA_OUTBOX_QUEUES")),
            "worker_max_memory_mib": _env_number(env, "MOTCUA_WORKER_MAX_MEMORY_MIB",
                                                 defaults.worker_max_memory_mib, int),
            "sms_status_window_hours": _env_number(env, "MOTCUA_SMS_STATUS_WINDOW_HOURS",
                                                   defaults.sms_status_window_hours),
            "sms_status_interval_seconds": _env_number(env, "MOTCUA_SMS_STATUS_INTERVAL_SECONDS",
                                                       defaults.sms_status_interval_seconds),
            "outbox_pending_hours": _env_number(env, "MOTCUA_OUTBOX_PENDING_HOURS", defaults.outbox_pending_hours),
            "script_time_limit": _env_number(env, "MOTCUA_SCRIPT_TIME_LIMIT", defaults.script_time_limit),
            "office_morning": env.get("MOTCUA_OFFICE_MORNING", defaults.office_morning),
            "office_afternoon": env.get("MOTCUA_OFFICE_AFTERNOON", defaults.office_afternoon),
            "same_day_cutoff": env.get("MOTCUA_SAME_DAY_CUTOFF", defaults.same_day_cutoff),
            "simulator_ports": ports,
            "exchange_agencies": _exchange_agencies(env),
            "payment_callback_url": env.get("MOTCUA_DVCQG_PAYMENT_CALLBACK_URL") or None,
            "remote_signing_auto_approve": _flag("MOTCUA_REMOTE_SIGNING_AUTO_APPROVE",
                                                 env.get("MOTCUA_REMOTE_SIGNING_AUTO_APPROVE") or None,
                                                 defaults.remote_signing_auto_approve),
            "retention_years": _env_number(env, "MOTCUA_RETENTION_YEARS", defaults.retention_years, int),
            "max_request_mb": _env_number(env, "MOTCUA_MAX_REQUEST_MB", defaults.max_request_mb, int),
            "reports_database_url": env.get("MOTCUA_REPORTS_DATABASE_URL") or None,
            "reports_replica_wait": _env_number(env, "MOTCUA_REPORTS_REPLICA_WAIT", defaults.reports_replica_wait),
            "file_store": env.get("MOTCUA_FILE_STORE", defaults.file_store).strip(),
            "s3_endpoint_url": env.get("MOTCUA_S3_ENDPOINT_URL") or None,
            "s3_region": env.get("MOTCUA_S3_REGION") or defaults.s3_region,
            "s3_addressing_style": env.get("MOTCUA_S3_ADDRESSING_STYLE") or defaults.s3_addressing_style,
            **_session_values(env, defaults),
        }
        values["connectors"] = _connector_config(env, embedded=mode == "embedded", data_dir=data_dir,
                                                 public_url=public_url, ports=ports,
                                                 agencies=values["exchange_agencies"])
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def calendar_config(self):
        """Office hours and cut-off as the calendar's CalendarConfig (validated at start-up)."""
        from engine.calendar import CalendarConfig

        def clock(text: str) -> time:
            hours, minutes = text.strip().split(":")
            return time(int(hours), int(minutes))

        def span(text: str) -> tuple[time, time]:
            start, end = text.split("-")
            return clock(start), clock(end)

        return CalendarConfig(morning=span(self.office_morning), afternoon=span(self.office_afternoon),
                              same_day_cutoff=clock(self.same_day_cutoff))

    def check(self) -> None:
        """Refuse configurations that must never reach production."""
        if self.mode not in ("embedded", "production"):
            raise ValueError(f"MOTCUA_MODE must be 'embedded' or 'production', not {self.mode!r}")
        if self.mode == "production" and self.secret_key == Settings.secret_key:
            raise ValueError("Production mode refuses the default MOTCUA_SECRET_KEY; set a secret of your own")
        if self.max_request_mb < 1:
            raise ValueError(f"MOTCUA_MAX_REQUEST_MB must be at least 1 (MiB), not {self.max_request_mb!r}")
        if self.reports_database_url is not None and not (
                self.reports_database_url.startswith("postgresql") and self.database_url.startswith("postgresql")):
            raise ValueError("MOTCUA_REPORTS_DATABASE_URL names a PostgreSQL standby of a PostgreSQL primary "
                             "(MOTCUA_DATABASE_URL); SQLite has no replicas")
        if not math.isfinite(self.reports_replica_wait) or self.reports_replica_wait < 0:
            raise ValueError(f"MOTCUA_REPORTS_REPLICA_WAIT must be 0 or more seconds (a finite number), not {self.reports_replica_wait!r}")
        from engine.file_store_location import Location, check_connection_settings

        if self.file_store:
            Location.parse(self.file_store)
        check_connection_settings(self.s3_endpoint_url, self.s3_region, self.s3_addressing_style)
        try:
            self.calendar_config()
        except ValueError as exc:
            raise ValueError(f"MOTCUA_OFFICE_MORNING / _AFTERNOON / MOTCUA_SAME_DAY_CUTOFF: {exc}") from exc
        _check_outbox_queues(self.outbox_queues)


# -- connectors ---------------------------------------------------------------------------------


class _Vars:
    """The variables of one connector. `demo(...)` defaults apply in embedded mode only: in
    production a value that is not set stays unset (the connector then names what is missing)."""

    def __init__(self, env: Mapping[str, str], connector_id: str, embedded: bool) -> None:
        self.env, self.embedded = env, embedded
        self.prefix = f"MOTCUA_{ENV_PREFIX[connector_id]}_"
        self.connector_id = connector_id

    def name(self, key: str) -> str:
        return self.prefix + key

    def raw(self, key: str) -> str | None:
        value = self.env.get(self.name(key))
        return value if value not in (None, "") else None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw(key)
        return default if value is None else value

    def demo(self, key: str, default: Any) -> Any:
        return self.get(key, default if self.embedded else None)

    def number(self, key: str, default: float) -> float:
        return _number(self.name(key), self.get(key, str(default)), float)

    def flag(self, key: str, default: bool) -> bool:
        return _flag(self.name(key), self.raw(key), default)

    def json(self, key: str) -> Any:
        raw = self.raw(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{self.name(key)} is not valid JSON: {exc}") from None

    def enabled(self, *, embedded_default: bool = True) -> bool:
        """`MOTCUA_<PREFIX>_ENABLED`; in production only with the address set explicitly."""
        address = PRODUCTION_ADDRESS[self.connector_id]
        if self.embedded:
            return self.flag("ENABLED", embedded_default)
        explicit = self.raw(address) is not None
        on = self.flag("ENABLED", explicit)
        if on and not explicit:
            raise ValueError(f"{self.name('ENABLED')}=1 in production mode needs {self.name(address)} set "
                             "explicitly (production never points at a simulator)")
        return on


def _connector_config(env: Mapping[str, str], *, embedded: bool = True, data_dir: Path | None = None,
                      public_url: str = Settings.public_url, ports: Mapping[str, int] | None = None,
                      agencies: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Settings of every built-in connector from MOTCUA_<PREFIX>_* (see the module docstring)."""
    data_dir = data_dir if data_dir is not None else Settings.data_dir
    ports = {**DEFAULT_SIMULATOR_PORTS, **(ports or {})}
    agencies = agencies if agencies is not None else _exchange_agencies(env)
    pki = data_dir / "pki"
    signatures = str(data_dir / "signatures")

    def local(cid: str) -> str:
        return f"http://{LOOPBACK}:{ports[cid]}"

    configs: dict[str, dict[str, Any]] = {}

    v = _Vars(env, "email", embedded)
    configs["email"] = {
        "enabled": v.enabled(), "host": v.demo("HOST", LOOPBACK),
        "port": _env_number(env, v.name("PORT"), ports["email"] if embedded else None, int),
        "sender": v.get("SENDER", "motcua@ubnd.demo.gov.vn"), "timeout": v.number("TIMEOUT", 10),
        "starttls": v.flag("STARTTLS", False), "ssl": v.flag("SSL", False),
        "username": v.get("USERNAME"), "password": v.get("PASSWORD"),
    }

    v = _Vars(env, "sms", embedded)
    configs["sms"] = {
        "enabled": v.enabled(), "url": v.demo("URL", local("sms")), "api_key": v.demo("API_KEY", "sms-demo-key"),
        "brandname": v.demo("BRANDNAME", "UBND-DEMO"), "timeout": v.number("TIMEOUT", 10),
        "strip_diacritics": v.flag("STRIP_DIACRITICS", False),
    }

    v = _Vars(env, "dvcqg", embedded)
    configs["dvcqg"] = {  # the simulator serves the adapter under the LGSP's usual path
        "enabled": v.enabled(), "adapter_url": v.demo("URL", local("dvcqg") + "/XrdAdapter/RestService/forward"),
        "username": v.demo("USERNAME", "motcua"), "password": v.demo("PASSWORD", "mat-khau"),
        "madonvi": v.demo("MADONVI", "000.00.21.H99"), "dstcode": v.get("DSTCODE"),
        "timeout": v.number("TIMEOUT", 10),
    }

    v = _Vars(env, "dvcqg_payment", embedded)
    platform = local("dvcqg_payment") + "/api/pg"
    configs["dvcqg_payment"] = {
        "enabled": v.enabled(), "init_url": v.demo("INIT_URL", platform + "/init"),
        "query_url": v.demo("QUERY_URL", platform + "/query"), "bill_url": v.demo("BILL_URL", platform + "/bill"),
        "partner_code": v.demo("PARTNER_CODE", "H99"), "secret": v.demo("SECRET", "thanh-toan-demo"),
        "access_token": v.get("ACCESS_TOKEN"), "timeout": v.number("TIMEOUT", 10),
    }

    v = _Vars(env, "local_signing", embedded)
    own_key = v.raw("PKCS12") is not None
    test_ca = embedded and not own_key  # the test CA made at setup, see engine.simulators.ensure_pki
    passphrase = v.get("PASSPHRASE")
    if passphrase is None and test_ca:
        passphrase = _read_secret(pki / TEST_CA_FILES["passphrase"])
    configs["local_signing"] = {
        "enabled": v.enabled(embedded_default=own_key or (pki / TEST_CA_FILES["pkcs12"]).exists()),
        "pkcs12_path": v.get("PKCS12", str(pki / TEST_CA_FILES["pkcs12"]) if test_ca else None),
        "passphrase": passphrase,
        "ca_cert_path": v.get("CA_CERT", str(pki / TEST_CA_FILES["ca_cert"]) if test_ca else None),
        "cache_dir": v.get("CACHE_DIR", signatures), "font_path": v.get("FONT"),
    }

    v = _Vars(env, "remote_signing", embedded)
    test_root = pki / TEST_CA_FILES["ca_cert"]
    configs["remote_signing"] = {
        "enabled": v.enabled(), "base_url": v.demo("URL", local("remote_signing")),
        "api_key": v.demo("API_KEY", "ky-so-demo"), "signer_id": v.demo("SIGNER_ID", "lanhdao.demo"),
        "cache_dir": v.get("CACHE_DIR", signatures), "timeout": v.number("TIMEOUT", 10),
        "wait_seconds": v.number("WAIT_SECONDS", 30),
        "ca_cert_path": v.get("CA_CERT", str(test_root) if embedded and test_root.exists() else None),
    }

    v = _Vars(env, "vdxp", embedded)
    system_id = v.demo("SYSTEM_ID", DEMO_EXCHANGE_AGENCIES[0])
    configs["vdxp"] = {
        "enabled": v.enabled(), "base_url": v.demo("URL", local("vdxp")), "system_id": system_id,
        "secret_key": v.demo("SECRET_KEY", agencies.get(system_id or "")),
        "organ_name": v.demo("ORGAN_NAME", "UBND phường Hòa Bình (tỉnh Demo)"), "timeout": v.number("TIMEOUT", 30),
        # the province's other agencies this installation sends and receives for: {"OrganId": {secret_key, organ_name}}
        "identities": v.json("IDENTITIES"),
    }

    v = _Vars(env, "vneid", embedded)
    configs["vneid"] = {  # the simulator is shaped like the national SSO (WSO2: issuer = token endpoint)
        "enabled": v.enabled(), "issuer": v.demo("ISSUER", local("vneid") + "/oauth2/token"),
        "client_id": v.demo("CLIENT_ID", "motcua"), "client_secret": v.demo("CLIENT_SECRET", "motcua-bi-mat"),
        "redirect_uri": v.get("REDIRECT_URI", public_url.rstrip("/") + "/dang-nhap/callback"),
        "timeout": v.number("TIMEOUT", 10),
    }
    return {cid: {k: value for k, value in config.items() if value is not None} for cid, config in configs.items()}


def _exchange_agencies(env: Mapping[str, str]) -> dict[str, str]:
    """`MOTCUA_VDXP_AGENCIES=ORGANID:SECRET,...`: the mailboxes of the exchange simulator."""
    text = env.get("MOTCUA_VDXP_AGENCIES")
    if not text:
        return {code: f"lienthong-{code}" for code in DEMO_EXCHANGE_AGENCIES}
    agencies: dict[str, str] = {}
    for item in text.split(","):
        code, sep, secret = item.strip().partition(":")
        if not sep or not code or not secret:
            raise ValueError(f"MOTCUA_VDXP_AGENCIES expects ORGANID:SECRET,... (got {item.strip()!r})")
        agencies[code] = secret
    return agencies


def _outbox_queues(text: str | None) -> dict[str, str]:
    """`MOTCUA_OUTBOX_QUEUES=connector=queue,...,*=queue`: the whole routing table, or the defaults
    when unset. Replacing rather than merging keeps what runs where readable from one variable
    (`*=celery` alone sends everything to one queue, as before the pools)."""
    if not text or not text.strip():
        return dict(DEFAULT_OUTBOX_QUEUES)
    table: dict[str, str] = {}
    for item in text.split(","):
        connector, sep, queue = (part.strip() for part in item.partition("="))
        if not sep or not connector or not queue:
            raise ValueError(f"MOTCUA_OUTBOX_QUEUES expects connector=queue,... (got {item.strip()!r})")
        if connector in table:
            raise ValueError(f"MOTCUA_OUTBOX_QUEUES names connector {connector!r} twice")
        table[connector] = queue
    return table


def _check_outbox_queues(table: Mapping[str, str]) -> None:
    """A typo in a connector id would silently send its calls to the fallback queue: refuse it."""
    known = {*ENV_PREFIX, *DEFAULT_OUTBOX_QUEUES}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"MOTCUA_OUTBOX_QUEUES: unknown connector(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    bad = sorted(queue for queue in set(table.values()) if not QUEUE_NAME.fullmatch(queue))
    if bad:
        raise ValueError(f"MOTCUA_OUTBOX_QUEUES: {', '.join(map(repr, bad))} is not a queue name "
                         "(letters, digits, '_', '-', '.')")


def _session_values(env: Mapping[str, str], defaults: Settings) -> dict[str, Any]:
    """Sessions, login throttling and rate limits (web/security.py, engine/services/login_throttle.py,
    web/rate_limits.py)."""
    return {
        "secure_cookies": _flag("MOTCUA_SECURE_COOKIES", secure, True) if (secure := env.get(
            "MOTCUA_SECURE_COOKIES")) else None,
        "session_idle_minutes": _env_number(env, "MOTCUA_SESSION_IDLE_MINUTES", defaults.session_idle_minutes, int),
        "session_lifetime_hours": _env_number(env, "MOTCUA_SESSION_LIFETIME_HOURS", defaults.session_lifetime_hours),
        "login_max_failures": _env_number(env, "MOTCUA_LOGIN_MAX_FAILURES", defaults.login_max_failures, int),
        "login_ip_max_failures": _env_number(env, "MOTCUA_LOGIN_IP_MAX_FAILURES", defaults.login_ip_max_failures, int),
        "login_window_minutes": _env_number(env, "MOTCUA_LOGIN_WINDOW_MINUTES", defaults.login_window_minutes),
        "login_lockout_minutes": _env_number(env, "MOTCUA_LOGIN_LOCKOUT_MINUTES", defaults.login_lockout_minutes),
        "tracking_rate_limit": env.get("MOTCUA_TRACKING_RATE_LIMIT", defaults.tracking_rate_limit),
        "rate_limit_storage": env.get("MOTCUA_RATE_LIMIT_STORAGE", defaults.rate_limit_storage),
        "rate_limit_prefix": env.get("MOTCUA_RATE_LIMIT_PREFIX", defaults.rate_limit_prefix),
    }


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text("ascii").strip()
    except FileNotFoundError:
        return None


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _env_number(env: Mapping[str, str], name: str, default: Any, kind: type = float) -> Any:
    """The variable `name` as a `kind`; unset or empty gives `default`, anything else that is not a
    number is refused naming the variable."""
    value = env.get(name)
    return default if value in (None, "") else _number(name, value, kind)


def _flag(name: str, value: str | None, default: bool) -> bool:
    if value is None:
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, got {value!r}")

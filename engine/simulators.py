"""Every external system's simulator, started together: `make run` (embedded) and `motcua simulators`.

Each simulator listens on loopback at the port its connector's embedded default points at
(`Settings.simulator_ports`) and accepts the credentials the connector is configured with, so an
embedded installation talks to real sockets with nothing else installed. A port already taken
is reported, not raised: the caller decides (usually `motcua simulators` is already running in
another terminal, and the connectors simply talk to that one).
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.config import LOOPBACK, Settings

if TYPE_CHECKING:
    from integrations.signing import TestCA

log = logging.getLogger(__name__)

#: The demo citizen `congdan` (engine/demo.py) as the national SSO knows them.
DEMO_CITIZEN = {
    "SoDinhDanh": "001090000001",
    "HoVaTen": "Phạm Thị Công Dân",
    "SoDienThoai": "0912345678",
    "ThuDienTu": "congdan@example.vn",
}


@dataclass
class SimulatorHandle:
    """One running simulator: `server` is the simulator object (tests and drills drive it)."""

    connector_id: str
    title: str
    url: str
    server: Any
    #: the connector settings that reach this simulator (credentials and the bound address)
    connector_config: dict[str, Any]

    def stop(self) -> None:
        self.server.stop()


@dataclass(frozen=True)
class SimulatorProblem:
    """A simulator that could not start, and why (in Vietnamese, for the console)."""

    connector_id: str
    title: str
    port: int
    message: str


@dataclass
class SimulatorSet:
    running: dict[str, SimulatorHandle] = field(default_factory=dict)
    problems: list[SimulatorProblem] = field(default_factory=list)

    def __getitem__(self, connector_id: str) -> SimulatorHandle:
        return self.running[connector_id]

    def __iter__(self):
        return iter(self.running.values())

    def stop(self) -> None:
        for handle in reversed(list(self.running.values())):
            try:
                handle.stop()
            except Exception:  # stopping the others matters more than this one's error
                log.exception("could not stop the %s simulator", handle.connector_id)
        self.running.clear()

    def __enter__(self) -> SimulatorSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def point(self, settings: Settings) -> Settings:
        """`settings` with each simulated connector aimed at its running simulator (ports chosen by
        the OS included) and enabled."""
        connectors = {cid: dict(config) for cid, config in settings.connectors.items()}
        for handle in self:
            connectors[handle.connector_id] = {**connectors.get(handle.connector_id, {}),
                                               **handle.connector_config, "enabled": True}
        return dataclasses.replace(settings, connectors=connectors)


def ensure_pki(settings: Settings) -> TestCA:
    """The embedded test CA in `settings.pki_dir`, created if missing (idempotent; never committed).

    Local signing signs with its default signer, the remote-signing simulator with a key of its own
    issued by the same CA, so both kinds of signature verify against one root."""
    from integrations.signing import create_test_ca

    return create_test_ca(settings.pki_dir)


def start_simulators(settings: Settings, *, ports: Mapping[str, int] | None = None,
                     only: Iterable[str] | None = None) -> SimulatorSet:
    """Start every simulator (or those in `only`) on loopback; `ports` overrides
    `settings.simulator_ports` (0: any free port). Never raises for a port in use."""
    ports = {**settings.simulator_ports, **(ports or {})}
    wanted = set(only) if only is not None else set(SIMULATORS)
    result = SimulatorSet()
    try:
        for connector_id, (title, build) in SIMULATORS.items():
            if connector_id not in wanted:
                continue
            port = ports[connector_id]
            problem = _port_taken(port)
            if problem is None:
                server, describe = build(settings, dict(settings.connectors.get(connector_id, {})), port)
                try:
                    server.start()
                except (OSError, SystemExit) as exc:  # werkzeug exits when it cannot bind
                    problem = f"không khởi động được: {exc}"
            if problem is not None:
                result.problems.append(SimulatorProblem(connector_id, title, port, problem))
                log.warning("%s simulator not started on %s:%s: %s", connector_id, LOOPBACK, port, problem)
                continue
            url, config = describe(server)
            result.running[connector_id] = SimulatorHandle(connector_id, title, url, server, config)
    except BaseException:
        result.stop()
        raise
    return result


def _port_taken(port: int) -> str | None:
    """Why `port` cannot be bound on loopback, or None. Checked first because werkzeug's server
    calls `sys.exit` when its port is taken."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves do
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"cổng {LOOPBACK}:{port} đang được chương trình khác sử dụng"
            return f"không dùng được cổng {LOOPBACK}:{port}: {exc.strerror or exc}"
    return None


# -- one builder per simulator: (settings, connector config, port) -> (server, describe) -----------
# `describe(server)` runs after start: the URL to show and the connector settings reaching it.

Describe = Callable[[Any], tuple[str, dict[str, Any]]]


def _smtp(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.notify.smtp_simulator import SmtpSimulator

    login = {"username": config["username"], "password": config.get("password", "")} \
        if config.get("username") else {}
    server = SmtpSimulator(LOOPBACK, port, users={login["username"]: login["password"]} if login else None)
    return server, lambda s: (f"smtp://{LOOPBACK}:{s.port}", {
        "host": LOOPBACK, "port": s.port, "starttls": False, "ssl": False,
        "sender": config.get("sender", "motcua@ubnd.demo.gov.vn"), **login})


def _sms(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.notify.sms_simulator import SmsSimulator

    creds = {"api_key": config.get("api_key", "sms-demo-key"), "brandname": config.get("brandname", "UBND-DEMO")}
    server = SmsSimulator(LOOPBACK, port, api_key=creds["api_key"], brandnames=[creds["brandname"]])
    return server, lambda s: (s.url, {"url": s.url, **creds})


def _portal(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.portal.dvcqg_simulator import PortalSimulator

    creds = {"username": config.get("username", "motcua"), "password": config.get("password", "mat-khau"),
             "madonvi": config.get("madonvi", "000.00.21.H99")}
    options = {"dstcode": config["dstcode"]} if config.get("dstcode") else {}
    server = PortalSimulator(LOOPBACK, port, **creds, **options)
    return server, lambda s: (s.adapter_url, {"adapter_url": s.adapter_url, **creds, **options})


def _payment(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.portal.payment_simulator import PaymentSimulator

    creds = {"partner_code": config.get("partner_code", "H99"), "secret": config.get("secret", "thanh-toan-demo")}
    token = config.get("access_token") or None
    server = PaymentSimulator(LOOPBACK, port, **creds, access_token=token,
                              callback_url=settings.payment_callback_url)
    return server, lambda s: (s.url, {"init_url": s.init_url, "query_url": s.query_url, "bill_url": s.bill_url,
                                      **creds, **({"access_token": token} if token else {})})


def _remote_signing(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.signing.remote_simulator import DEFAULT_PIN, RemoteSigningSimulator

    ca = ensure_pki(settings)
    creds = {"signer_id": config.get("signer_id", "lanhdao.demo"), "api_key": config.get("api_key")}
    # By default the "official" approves every request at once (a demo has no phone); with
    # MOTCUA_REMOTE_SIGNING_AUTO_APPROVE=0 the leader approves on the simulator's phone page.
    auto_approve = settings.remote_signing_auto_approve
    server = RemoteSigningSimulator.from_test_ca(ca, creds["signer_id"], host=LOOPBACK, port=port,
                                                 api_key=creds["api_key"], auto_approve=auto_approve)
    creds = {k: v for k, v in creds.items() if v is not None}

    def describe(s: RemoteSigningSimulator) -> tuple[str, dict[str, Any]]:
        if not auto_approve:
            log.info("ký số từ xa: lãnh đạo xác nhận yêu cầu ký tại %s/app (mã PIN demo %s)", s.url, DEFAULT_PIN)
        return s.url, {"base_url": s.url, "ca_cert_path": str(ca.ca_cert_path), **creds}

    return server, describe


def _exchange(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from engine.demo import DEMO_AGENCIES
    from integrations.exchange.simulator import ExchangeSimulator

    names = {code: name for code, name, _parent in DEMO_AGENCIES}
    server = ExchangeSimulator(LOOPBACK, port)
    for code, secret in settings.exchange_agencies.items():
        server.register_agency(code, secret, names.get(code, code))
    own = config.get("system_id", "000.00.21.H99")
    secret = config.get("secret_key") or settings.exchange_agencies.get(own) or f"lienthong-{own}"
    if settings.exchange_agencies.get(own) != secret:
        server.register_agency(own, secret, config.get("organ_name") or names.get(own, own))
    creds = {"system_id": own, "secret_key": secret,
             "organ_name": config.get("organ_name") or names.get(own, own),
             # the demo installation serves every demo agency, each with its own mailbox
             "identities": config.get("identities") or {
                 code: {"secret_key": agency_secret, "organ_name": names.get(code, code)}
                 for code, agency_secret in settings.exchange_agencies.items() if code != own}}

    def describe(s: ExchangeSimulator) -> tuple[str, dict[str, Any]]:
        # whoever plays the other agency of a liên thông step answers there
        log.info("liên thông: đóng vai cơ quan nhận (xem văn bản đến, gửi trạng thái, trả lời) tại %s/desk/", s.url)
        return s.url, {"base_url": s.url, **creds}

    return server, describe


def _identity(settings: Settings, config: dict[str, Any], port: int) -> tuple[Any, Describe]:
    from integrations.identity.simulator import IdentityProviderSimulator

    creds = {"client_id": config.get("client_id", "motcua"), "client_secret": config.get("client_secret", "motcua-bi-mat"),
             "redirect_uri": config.get("redirect_uri", settings.public_url.rstrip("/") + "/dang-nhap/callback")}
    server = IdentityProviderSimulator(
        LOOPBACK, port, client_id=creds["client_id"], client_secret=creds["client_secret"],
        redirect_uris=[creds["redirect_uri"]], post_logout_redirect_uris=[settings.public_url.rstrip("/") + "/"],
        accounts=identity_accounts())
    return server, lambda s: (s.issuer, {"issuer": s.issuer, **creds})


def identity_accounts() -> dict[str, dict[str, Any]]:
    """The provider's demo accounts: the demo citizen `congdan` as engine/demo.py seeds them, a second
    citizen and a business (`doanhnghiep`)."""
    from integrations.identity.demo_accounts import DEMO_ACCOUNTS

    return {
        "congdan": {**DEMO_ACCOUNTS["congdan"], **DEMO_CITIZEN},
        "congdan2": dict(DEMO_ACCOUNTS["congdan2"]),
        "doanhnghiep": dict(DEMO_ACCOUNTS["doanhnghiep"]),
    }


#: connector id -> (what it simulates, builder); started in this order.
SIMULATORS: dict[str, tuple[str, Callable[[Settings, dict[str, Any], int], tuple[Any, Describe]]]] = {
    "email": ("Máy chủ thư (SMTP)", _smtp),
    "sms": ("Cổng tin nhắn SMS brandname", _sms),
    "dvcqg": ("Cổng Dịch vụ công quốc gia (đồng bộ hồ sơ)", _portal),
    "dvcqg_payment": ("Nền tảng thanh toán DVCQG", _payment),
    "remote_signing": ("Dịch vụ ký số từ xa", _remote_signing),
    "vdxp": ("Trục liên thông văn bản (VXP/edXML)", _exchange),
    "vneid": ("Hệ thống xác thực tài khoản định danh (OIDC)", _identity),
}

"""Embedded mode's simulators: one per external system, reachable with the connectors' own settings;
the configuration's defaults point at them in embedded mode and never in production."""

from __future__ import annotations

import socket

import pytest

from engine.config import DEFAULT_SIMULATOR_PORTS, DEMO_EXCHANGE_AGENCIES, Settings
from engine.context import own_registry
from engine.simulators import SIMULATORS, ensure_pki, start_simulators
from integrations import VdxpConnector

EVERYWHERE = {connector_id: 0 for connector_id in DEFAULT_SIMULATOR_PORTS}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """Embedded settings over a fresh data directory, after the setup step made the test CA."""
    env = {"MOTCUA_DATA_DIR": str(tmp_path_factory.mktemp("embedded"))}
    ensure_pki(Settings.from_env(env))
    return Settings.from_env(env)


@pytest.fixture(scope="module")
def simulators(embedded):
    with start_simulators(embedded, ports=EVERYWHERE) as running:
        yield running


def test_every_simulator_starts_and_each_connector_finds_its_own(embedded, simulators):
    assert simulators.problems == []
    assert sorted(handle.connector_id for handle in simulators) == sorted(SIMULATORS)
    connectors = own_registry(simulators.point(embedded))
    assert connectors.available() == sorted([*SIMULATORS, "local_signing"])
    reports = {cid: connectors.get(cid).check_config() for cid in connectors.available()}
    assert {cid: report.ok for cid, report in reports.items()} == dict.fromkeys(reports, True), reports


def test_stopped_simulators_free_their_ports_and_the_probes_then_fail(embedded):
    running = start_simulators(embedded, ports=EVERYWHERE, only=["email", "sms"])
    connectors = own_registry(running.point(embedded))
    assert connectors.get("email").check_config().ok and connectors.get("sms").check_config().ok
    running.stop()
    assert not connectors.get("email").check_config().ok
    assert not connectors.get("sms").check_config().ok


def test_a_port_in_use_is_reported_and_the_other_simulators_still_start(embedded):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with start_simulators(embedded, ports={**EVERYWHERE, "sms": port}, only=["email", "sms"]) as running:
            [problem] = running.problems
            assert problem.connector_id == "sms" and problem.port == port
            assert f"127.0.0.1:{port}" in problem.message and "đang được chương trình khác sử dụng" in problem.message
            assert [handle.connector_id for handle in running] == ["email"]


def test_the_exchange_knows_every_demo_agency_with_its_secret(embedded, simulators):
    assert len(DEMO_EXCHANGE_AGENCIES) == 6
    for organ_id in DEMO_EXCHANGE_AGENCIES:
        config = {**simulators["vdxp"].connector_config, "system_id": organ_id,
                  "secret_key": embedded.exchange_agencies[organ_id], "organ_name": organ_id}
        report = VdxpConnector(config).check_config()
        assert report.ok, (organ_id, report)


def test_the_identity_provider_knows_the_demo_citizen_as_the_demo_user(simulators):
    accounts = simulators["vneid"].server.accounts
    citizen = accounts["congdan"]
    assert (citizen["SoDinhDanh"], citizen["HoVaTen"], citizen["SoDienThoai"], citizen["ThuDienTu"]) == (
        "001090000001", "Phạm Thị Công Dân", "0912345678", "congdan@example.vn")
    assert citizen["LoaiTaiKhoan"] == "1"
    assert any(account["LoaiTaiKhoan"] == "2" for account in accounts.values())  # a business too


def test_the_pki_is_created_once_where_the_settings_look_for_it(embedded):
    ca = ensure_pki(embedded)
    local = embedded.connectors["local_signing"]
    assert local["enabled"] is True and local["passphrase"] == ca.passphrase
    assert (local["pkcs12_path"], local["ca_cert_path"]) == (str(ca.pkcs12_path), str(ca.ca_cert_path))
    before = ca.ca_cert_path.read_bytes()
    assert ensure_pki(embedded).ca_cert_path.read_bytes() == before


# -- configuration ---------------------------------------------------------------------------------


def test_embedded_defaults_point_every_connector_at_its_simulator_on_loopback(tmp_path):
    settings = Settings.from_env({"MOTCUA_DATA_DIR": str(tmp_path)})
    c = settings.connectors
    assert settings.simulator_ports == {"email": 8025, "sms": 8026, "dvcqg": 8027, "dvcqg_payment": 8028,
                                        "remote_signing": 8029, "vdxp": 8030, "vneid": 8031}
    assert (c["email"]["host"], c["email"]["port"]) == ("127.0.0.1", 8025)
    assert c["sms"]["url"] == "http://127.0.0.1:8026"
    assert c["dvcqg"]["adapter_url"].startswith("http://127.0.0.1:8027/")
    assert c["dvcqg_payment"]["init_url"].startswith("http://127.0.0.1:8028/")
    assert c["remote_signing"]["base_url"] == "http://127.0.0.1:8029"
    assert c["vdxp"]["base_url"] == "http://127.0.0.1:8030"
    assert c["vneid"]["issuer"].startswith("http://127.0.0.1:8031/")
    assert all(c[cid]["enabled"] for cid in SIMULATORS)
    # No test CA yet in this data directory: local signing waits for the setup step.
    assert c["local_signing"]["enabled"] is False
    assert c["local_signing"]["pkcs12_path"] == str(tmp_path / "pki" / "signer.p12")


def test_ports_and_switches_are_overridable(tmp_path):
    settings = Settings.from_env({"MOTCUA_DATA_DIR": str(tmp_path), "MOTCUA_SMS_PORT": "9126",
                                  "MOTCUA_VNEID_ENABLED": "0", "MOTCUA_SMTP_PORT": "2525"})
    assert settings.simulator_ports["sms"] == 9126 and settings.connectors["sms"]["url"] == "http://127.0.0.1:9126"
    assert settings.simulator_ports["email"] == 2525 and settings.connectors["email"]["port"] == 2525
    assert settings.connectors["vneid"]["enabled"] is False
    assert "vneid" not in own_registry(settings).available()
    with pytest.raises(ValueError, match="MOTCUA_SMS_ENABLED"):
        Settings.from_env({"MOTCUA_DATA_DIR": str(tmp_path), "MOTCUA_SMS_ENABLED": "perhaps"})


def test_production_enables_only_connectors_whose_address_is_set_and_never_a_simulator(tmp_path):
    env = {"MOTCUA_MODE": "production", "MOTCUA_SECRET_KEY": "s3cret", "MOTCUA_DATA_DIR": str(tmp_path)}
    ensure_pki(Settings.from_env(env))  # even with a test CA on disk, production does not use it
    bare = Settings.from_env(env)
    assert not any(config["enabled"] for config in bare.connectors.values())
    assert own_registry(bare).available() == []
    flat = repr(bare.connectors)
    assert not [port for port in DEFAULT_SIMULATOR_PORTS.values() if f":{port}" in flat]
    assert not [secret for secret in ("sms-demo-key", "mat-khau", "thanh-toan-demo", "ky-so-demo", "lienthong-",
                                      "motcua-bi-mat", str(tmp_path / "pki")) if secret in flat]

    sms = Settings.from_env({**env, "MOTCUA_SMS_URL": "https://sms.example.vn", "MOTCUA_SMS_API_KEY": "k",
                             "MOTCUA_SMS_BRANDNAME": "UBND-TINH"})
    assert [cid for cid, config in sms.connectors.items() if config["enabled"]] == ["sms"]
    assert own_registry(sms).available() == ["sms"]

    with pytest.raises(ValueError, match="MOTCUA_VDXP_URL"):
        Settings.from_env({**env, "MOTCUA_VDXP_ENABLED": "1"})
    # An address without its credentials stops the start-up naming what is missing.
    missing_key = Settings.from_env({**env, "MOTCUA_SMS_URL": "https://sms.example.vn"})
    with pytest.raises(ValueError, match="api_key"):
        own_registry(missing_key)


def test_in_the_demo_a_court_letter_leaves_as_cong_an_tinh_and_the_courts_desk_answer_resumes_it(
        ctx, actors, embedded, simulators):
    """The whole liên thông path on the demo's own simulators: rendered, signed, sent under the
    dossier's agency, read and answered on the court's desk, routed back to the waiting step."""
    from engine.services import get_dossier, list_attachments, list_inbox
    from engine.services.exchange import fetch_and_route
    from engine.services.verification import verify_upload
    from tests.conftest import with_connectors
    from tests.factories import drain_all, work
    from tests.processes.test_cap_phieu_ly_lich_tu_phap import COURT, POLICE, SEARCH_VERIFY, submit

    pointed = simulators.point(embedded).connectors
    demo = with_connectors(ctx, vdxp=pointed["vdxp"], local_signing=pointed["local_signing"])
    dossier = submit(demo, actors["congdan"])
    work(demo, actors["tiepnhan_ca"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(demo, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)
    drain_all(demo)

    axis = simulators["vdxp"].server
    # newest first (the other database's run used the same dossier code)
    letter = next(d for d in axis.desk_documents(COURT) if dossier.code in d.envelope.subject)
    assert letter.envelope.sender.organ_id == POLICE
    [pdf] = letter.attachments
    assert verify_upload(demo, pdf.data).valid
    axis.reply(COURT, letter.envelope.document_id, code_number=axis.next_code_number(COURT, "TANDT-HCTP"),
               code_notation="TANDT-HCTP",
               subject="V/v cung cấp thông tin về án tích", content="Người này đã được xóa án tích.",
               attachments=[("tra-loi.pdf", "application/pdf", b"%PDF-1.4 tra loi")])
    assert fetch_and_route(demo)["matched"] == 1
    assert [t.bpmn_id for t in list_inbox(demo, actors["chuyenvien_ca"]) if t.dossier_code == dossier.code] == \
        ["lap_phieu"]
    assert "lien-thong" in {a.kind for a in list_attachments(demo, actors["chuyenvien_ca"], dossier.code)}
    assert get_dossier(demo, actors["congdan"], dossier.code).status == "processing"

"""The CSRF token is the session's secret under a fresh mask on every form: gzipped pages give an
attacker no repeated secret to guess byte by byte from compressed sizes (BREACH)."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_of


def log_in_with(client, token: str):
    return client.post("/dang-nhap", data={"username": "tiepnhan", "password": "demo", "csrf_token": token})


def test_every_form_carries_a_differently_masked_token_and_each_one_works(client):
    first = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    second = csrf_of(client.get("/dang-nhap").get_data(as_text=True))

    assert first != second
    assert log_in_with(client, second).status_code == 302


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("00" if token[-2:] != "00" else "11"),  # one byte of the secret changed
    lambda token: token[: len(token) // 2],  # the mask alone
    lambda token: token + "0",  # not whole bytes
    lambda token: "zz" + token[2:],  # not hexadecimal
])
def test_a_tampered_token_is_refused(client, tamper):
    token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))

    assert log_in_with(client, tamper(token)).status_code == 400
    assert client.get("/cong-viec").status_code == 302, "still logged out"

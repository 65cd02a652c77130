"""A row id in a page's address that no database column can hold is an unknown page (404), like any
other unknown id, never a driver overflow (a 500 on PostgreSQL)."""

from __future__ import annotations

import pytest

HUGE = str(2**70)
PAGES = [  # (who, address)
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/bpmn"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/kiem-tra"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/bieu-mau"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/thong-tin"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/chay-thu"),
    ("phantich", f"/thiet-ke/ban-nhap/{HUGE}/xuat-ban"),
    ("quantri", f"/quan-tri/quy-trinh/{HUGE}/bpmn"),
    ("quantri", f"/quan-tri/bao-cao/so-do/{HUGE}"),
    ("congdan", f"/ho-so-cua-toi/H99.21-000000-0001/tep/{HUGE}"),
    ("tiepnhan", f"/cong-viec/ho-so/H99.21-000000-0001/tep/{HUGE}"),
]


@pytest.mark.parametrize(("who", "address"), PAGES)
def test_an_id_too_large_for_the_database_is_an_unknown_page(client, login, who, address):
    login(who)
    assert client.get(address).status_code == 404

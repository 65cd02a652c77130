"""Admin endpoints: the calendar of extra days off and swapped working days."""

from __future__ import annotations


def test_an_admin_sets_lists_and_removes_a_calendar_exception(api):
    put = api.call("PUT", "/api/v1/admin/calendar/2026-12-31", user="quantri",
                   json={"kind": "off", "note": "Nghỉ bù Tết Dương lịch"})
    assert put.status_code == 200 and put.get_json()["label"].startswith("Ngày nghỉ")
    listed = api.get("/api/v1/admin/calendar", user="quantri").get_json()
    assert [(e["day"], e["kind"]) for e in listed] == [("2026-12-31", "off")]
    assert api.call("DELETE", "/api/v1/admin/calendar/2026-12-31", user="quantri").status_code == 204
    assert api.get("/api/v1/admin/calendar", user="quantri").get_json() == []


def test_officials_cannot_touch_the_calendar_and_bad_input_is_400(api):
    assert api.get("/api/v1/admin/calendar", user="tiepnhan").status_code == 403
    assert api.call("PUT", "/api/v1/admin/calendar/2026-12-31", user="tiepnhan",
                    json={"kind": "off"}).status_code == 403
    bad_day = api.call("PUT", "/api/v1/admin/calendar/31-12-2026", user="quantri", json={"kind": "off"})
    assert bad_day.status_code == 400 and "day" in bad_day.get_json()["fields"]
    bad_kind = api.call("PUT", "/api/v1/admin/calendar/2026-12-31", user="quantri", json={"kind": "le"})
    assert bad_kind.status_code == 400 and "Loại ngày" in bad_kind.get_json()["fields"]["kind"][0]
    assert api.call("DELETE", "/api/v1/admin/calendar/2026-12-30", user="quantri").status_code == 404

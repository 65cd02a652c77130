"""Public tracking is rate-limited per client address: page, forms and API count together, a person
gets a Vietnamese page and the API structured JSON (429, Retry-After), and on Redis the count is
shared by every app instance (two create_app() are two gunicorn workers)."""

from __future__ import annotations

import dataclasses
import io
import uuid

import pytest

from tests.conftest import REDIS_URL, service_missing
from web import create_app

TOO_MANY = "Ông/Bà đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng chờ ít phút rồi thử lại."
LOOKUP = "/tra-cuu?code=H99.00-000000-0000&secret=0900000000"
API_LOOKUP = "/api/v1/track/H99.00-000000-0000?secret=0900000000"


def app_with(ctx, **settings):
    return create_app(ctx=dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)),
                      start_worker=False)


def test_lookups_beyond_the_limit_get_a_vietnamese_page_and_structured_json(ctx, api):
    client = app_with(ctx, tracking_rate_limit="3/minute").test_client()
    assert [client.get(LOOKUP).status_code for _ in range(2)] == [404, 404]
    assert client.get(API_LOOKUP).status_code == 404  # the third lookup, through the API

    page, answer = client.get(LOOKUP), client.get(API_LOOKUP)

    assert page.status_code == 429 and page.mimetype == "text/html"
    assert TOO_MANY in page.get_data(as_text=True)
    assert answer.status_code == 429 and answer.get_json() == {"error": "TooManyRequests", "message": TOO_MANY}
    assert 0 < int(answer.headers["Retry-After"]) <= 60
    from tests.web.conftest import check_documented

    check_documented(api.spec, "GET", API_LOOKUP.split("?")[0], answer)


def test_the_empty_form_is_free_and_other_pages_are_not_limited(ctx):
    client = app_with(ctx, tracking_rate_limit="1/minute").test_client()
    assert [client.get("/tra-cuu").status_code for _ in range(3)] == [200] * 3
    assert client.get(LOOKUP).status_code == 404
    assert client.get(LOOKUP).status_code == 429
    assert client.get("/").status_code == 200 and client.get("/dang-nhap").status_code == 200


def test_addresses_behind_the_proxy_are_counted_apart(ctx):
    client = app_with(ctx, tracking_rate_limit="2/minute", proxy_hops=1).test_client()
    first, second = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}

    assert [client.get(LOOKUP, headers=first).status_code for _ in range(3)] == [404, 404, 429]
    assert client.get(LOOKUP, headers=second).status_code == 404


VERIFY = "/xac-thuc?code=04HM-ASW9-NF6Y"
API_VERIFY = "/api/v1/verify/04HM-ASW9-NF6Y"


def test_verification_lookups_are_limited_too_and_counted_apart_from_tracking(ctx, api):
    client = app_with(ctx, tracking_rate_limit="3/minute").test_client()
    assert [client.get("/xac-thuc").status_code for _ in range(4)] == [200] * 4, "the empty form is free"
    assert [client.get(VERIFY).status_code for _ in range(2)] == [400, 400]  # no such code
    upload = client.post("/api/v1/verify", data={"file": (io.BytesIO(b"%PDF-1.7\n"), "x.pdf")},
                         content_type="multipart/form-data")
    assert upload.status_code == 200  # the third lookup: an uploaded PDF, through the API

    page, answer = client.get(VERIFY), client.get(API_VERIFY)

    assert page.status_code == 429 and TOO_MANY in page.get_data(as_text=True)
    assert answer.status_code == 429 and answer.get_json() == {"error": "TooManyRequests", "message": TOO_MANY}
    assert 0 < int(answer.headers["Retry-After"]) <= 60
    from tests.web.conftest import check_documented

    check_documented(api.spec, "GET", "/api/v1/verify/04HM-ASW9-NF6Y", answer)
    assert client.get(LOOKUP).status_code == 404, "tracking keeps its own count"


def test_the_default_limit_leaves_ordinary_use_alone(ctx):
    client = app_with(ctx).test_client()  # "30/minute;300/hour", counted in memory (embedded)
    assert {client.get(LOOKUP).status_code for _ in range(30)} == {404}
    assert client.get(LOOKUP).status_code == 429


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own on the real Redis, its keys removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    prefix = f"motcua-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_app_instances_on_one_redis_share_the_limit(ctx, redis_prefix):
    import redis

    settings = {"tracking_rate_limit": "4/minute", "rate_limit_storage": REDIS_URL,
                "rate_limit_prefix": redis_prefix}
    worker_a, worker_b = app_with(ctx, **settings).test_client(), app_with(ctx, **settings).test_client()

    answers = [w.get(LOOKUP).status_code for w in (worker_a, worker_b, worker_a, worker_b)]
    assert answers == [404] * 4
    assert worker_a.get(LOOKUP).status_code == 429 and worker_b.get(API_LOOKUP).status_code == 429
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{redis_prefix}*")), "counted in Redis"


def test_an_unreachable_redis_falls_back_to_counting_in_memory(ctx):
    client = app_with(ctx, tracking_rate_limit="2/minute", rate_limit_storage="redis://127.0.0.1:1/0").test_client()

    assert [client.get(LOOKUP).status_code for _ in range(3)] == [404, 404, 429]

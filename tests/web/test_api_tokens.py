"""API tokens: issued for a password, ended by their holder (DELETE /api/v1/auth/token) with effect
on the very next request, and ended with the account when an admin deactivates it."""

from __future__ import annotations

from sqlalchemy import update

from engine.models import User


def issue(api, username: str = "tiepnhan") -> str:
    response = api.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_token_is_refused_at_once(api):
    token, other = issue(api), issue(api)
    assert api.get("/api/v1/tasks", headers=bearer(token)).status_code == 200

    revoked = api.call("DELETE", "/api/v1/auth/token", headers=bearer(token))

    assert revoked.status_code == 204 and revoked.get_data() == b""
    refused = api.get("/api/v1/tasks", headers=bearer(token))
    assert refused.status_code == 401 and refused.get_json()["error"] == "AuthenticationFailed"
    assert api.call("DELETE", "/api/v1/auth/token", headers=bearer(token)).status_code == 401
    assert api.get("/api/v1/tasks", headers=bearer(other)).status_code == 200, "only that token ended"


def test_revoking_needs_a_token(api):
    assert api.call("DELETE", "/api/v1/auth/token").status_code == 401


def test_deactivating_the_account_ends_its_tokens(ctx, api):
    token = issue(api, "chuyenvien")
    with ctx.sessions.begin() as session:  # what an admin's deactivation writes
        session.execute(update(User).where(User.username == "chuyenvien").values(active=False))
    try:
        assert api.get("/api/v1/tasks", headers=bearer(token)).status_code == 401
    finally:
        with ctx.sessions.begin() as session:  # users outlive a test
            session.execute(update(User).where(User.username == "chuyenvien").values(active=True))

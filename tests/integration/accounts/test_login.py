"""Staff login: a generic message on failure, and repeated failures are slowed down then stopped."""

from __future__ import annotations

import time

import pytest

from backend.accounts import controllers
from tests.factories import TenantFixture
from tests.helpers import Client, login


async def test_wrong_password_and_unknown_email_get_the_same_generic_answer(
    client: Client, tenant: TenantFixture
) -> None:
    wrong_password = await login(client, tenant.clerk_email, "wrong")
    unknown_email = await login(client, "nobody@example.org", "wrong")
    assert wrong_password.status_code == unknown_email.status_code == 200
    for response in (wrong_password, unknown_email):
        assert "error-summary" in response.text
    assert wrong_password.text.count("error-summary") == unknown_email.text.count("error-summary")


async def test_correct_login_lands_in_the_inbox(client: Client, tenant: TenantFixture) -> None:
    response = await login(client, tenant.admin_email, tenant.password)
    assert response.status_code == 303 and response.headers["location"] == "/staff"
    assert "Anna Admin" in (await client.get("/staff")).text


async def test_repeated_failures_are_slowed_down_then_refused(
    client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controllers, "FAILURES_BEFORE_DELAY", 2)
    monkeypatch.setattr(controllers, "FAILURES_BEFORE_LOCK", 4)
    monkeypatch.setattr(controllers, "FAILURE_DELAY_SECONDS", 0.2)
    started = time.monotonic()
    for _ in range(4):
        assert (await login(client, tenant.clerk_email, "guess")).status_code == 200
    assert time.monotonic() - started >= 0.2 + 0.4 + 0.8, "failures past the threshold wait before answering"
    locked = await login(client, tenant.clerk_email, tenant.password)
    assert locked.status_code == 429, "even the right password is refused while locked"

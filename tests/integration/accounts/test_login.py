"""Staff login: a generic message on failure; failures are counted atomically and lock an account only for
clients that never logged in to it (device cookies); redirects after login stay on the site."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.accounts import services, throttle
from backend.core.ratelimit import MemoryRateLimiter
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.core.live import live_server

Person = Callable[[str], AsyncTestClient[Litestar]]


@asynccontextmanager
async def _browser(port: int, tenant: TenantFixture) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": tenant.host}, timeout=30
    ) as browser:
        yield browser


async def _post_login(
    client: Client | httpx.AsyncClient, email: str, password: str, token: str, next_: str = "/staff"
) -> httpx.Response:
    return await client.post(
        "/staff/login",
        data={"_csrf_token": token, "email": email, "password": password, "next": next_},
        follow_redirects=False,
    )


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
    monkeypatch.setattr(throttle, "FAILURES_BEFORE_DELAY", 2)
    monkeypatch.setattr(throttle, "UNTRUSTED_FAILURES_PER_ACCOUNT", 4)
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.2)
    started = time.monotonic()
    for _ in range(4):
        assert (await login(client, tenant.clerk_email, "guess")).status_code == 200
    assert time.monotonic() - started >= 0.2 + 0.4 + 0.8, "failures past the threshold wait before answering"
    locked = await login(client, tenant.clerk_email, tenant.password)
    assert locked.status_code == 429, "even the right password is refused while locked"


async def test_parallel_wrong_passwords_are_all_counted_and_then_lock_untrusted_clients(
    app: Litestar, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.01)
    async with live_server(app) as port, _browser(port, tenant) as browser:
        token = csrf_token((await browser.get("/staff/login")).text)
        answers = await asyncio.gather(
            *(_post_login(browser, tenant.clerk_email, f"guess{i}", token) for i in range(40))
        )
        statuses = sorted(a.status_code for a in answers)
        allowed = throttle.UNTRUSTED_FAILURES_PER_ACCOUNT
        assert statuses == [200] * allowed + [429] * (40 - allowed), "only the budget's worth of guesses is checked"
        refused = await _post_login(browser, tenant.clerk_email, tenant.password, token)
        assert refused.status_code == 429
        assert "rathaus_session" not in refused.headers.get("set-cookie", "")


async def test_a_trusted_device_still_logs_in_while_the_account_is_locked_for_others(
    client: Client, tenant: TenantFixture, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert "rathaus_device" in client.cookies
    await client.post("/staff/logout", data={"_csrf_token": csrf_token((await client.get("/staff")).text)})

    async with person(tenant.host) as attacker:
        for _ in range(throttle.UNTRUSTED_FAILURES_PER_ACCOUNT):
            assert (await login(attacker, tenant.clerk_email, "guess")).status_code == 200
        assert (await login(attacker, tenant.clerk_email, tenant.password)).status_code == 429

    again = await login(client, tenant.clerk_email, tenant.password)
    assert again.status_code == 303, "the clerk's own browser is not locked out by someone else's guesses"


async def test_a_device_cookie_counts_only_for_its_own_account(
    client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    for _ in range(throttle.UNTRUSTED_FAILURES_PER_ACCOUNT):
        await login(client, tenant.admin_email, "guess")
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 429
    for forged in ("forged.0123456789abcdef0123456789abcdef", "~~..~"):
        client.cookies.set("rathaus_device", forged, domain=tenant.host)
        refused = await login(client, tenant.admin_email, tenant.password)
        assert refused.status_code == 429, "a forged cookie is no trust"


def test_a_device_cookie_with_any_characters_is_simply_no_trust() -> None:
    checker = throttle.LoginThrottle(MemoryRateLimiter(), "secret", uuid.uuid4())
    assert checker._nonce_of("x.\u00e4\u00f6\udcff", "clerk@example.org") is None


async def test_a_trusted_device_has_its_own_small_failure_budget(
    client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    for _ in range(throttle.TRUSTED_FAILURES_PER_DEVICE):
        assert (await login(client, tenant.clerk_email, "guess")).status_code == 200
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 429


async def test_one_persons_failures_do_not_lock_out_a_colleague_on_the_same_address(
    client: Client, tenant: TenantFixture, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
    # Both browsers come from the same address, as behind one town-hall NAT.
    for _ in range(throttle.UNTRUSTED_FAILURES_PER_ACCOUNT + 2):
        await login(client, tenant.clerk_email, "typo")
    async with person(tenant.host) as colleague:
        assert (await login(colleague, tenant.admin_email, tenant.password)).status_code == 303


async def test_password_checks_run_off_the_event_loop(
    app: Litestar, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every password check runs in a worker thread: none of them ever holds up the server's event loop."""
    on_a_loop: list[bool] = []
    real = services._hasher

    class Watched:
        def verify(self, hash: str, password: str) -> bool:
            try:
                asyncio.get_running_loop()
                on_a_loop.append(True)
            except RuntimeError:
                on_a_loop.append(False)
            return real.verify(hash, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(services, "_hasher", Watched())
    async with live_server(app) as port, _browser(port, tenant) as browser:
        token = csrf_token((await browser.get("/staff/login")).text)
        logins = [_post_login(browser, f"nobody{i}@example.org", "x", token) for i in range(6)]
        await asyncio.gather(*logins, _post_login(browser, tenant.clerk_email, tenant.password, token))
    assert on_a_loop == [False] * 7


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example"]
)
async def test_a_login_next_to_another_site_lands_on_the_staff_home(
    client: Client, tenant: TenantFixture, target: str
) -> None:
    token = csrf_token((await client.get("/staff/login")).text)  # a control character in the URL is a 400 itself
    response = await _post_login(client, tenant.clerk_email, tenant.password, token, next_=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


async def test_a_login_next_on_this_site_is_kept(client: Client, tenant: TenantFixture) -> None:
    token = csrf_token((await client.get("/staff/login")).text)
    response = await _post_login(client, tenant.clerk_email, tenant.password, token, next_="/staff/deliveries/")
    assert response.headers["location"] == "/staff/deliveries/"

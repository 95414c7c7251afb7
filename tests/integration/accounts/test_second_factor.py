"""Staff two-step login: set up an authenticator app (QR code as SVG), log in with its code, recovery codes
once each, no replay of a code, and a platform that requires it sends people without one to set it up."""

from __future__ import annotations

import asyncio
import datetime
import re
from dataclasses import replace

import pyotp
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

PAGE = "/staff/account/two-factor"


def _code(secret: str, steps_ahead: int = 0) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30 * steps_ahead)
    return pyotp.TOTP(secret).at(when)


async def enrol(client: Client) -> tuple[str, list[str]]:
    """Set up the app for the logged-in person; their secret and recovery codes."""
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "<svg" in page.text and "QR" in page.text
    secret = re.search(r"<code class=\"secret\" data-secret>([A-Z2-7 ]+)</code>", page.text)
    assert secret
    key = secret.group(1).replace(" ", "")
    done = await client.post(PAGE, data={"_csrf_token": csrf_token(page.text), "code": _code(key)})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.text)
    assert len(codes) == 10
    return key, codes


async def code_step(client: Client, code: str) -> object:
    page = await client.get("/staff/login/code")
    assert page.status_code == 200
    return await client.post(
        "/staff/login/code", data={"_csrf_token": csrf_token(page.text), "code": code}, follow_redirects=False
    )


async def test_set_up_then_log_in_with_the_code(client: Client, tenant: TenantFixture, person: Person) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    secret, _ = await enrol(client)
    assert "Two-step login is on" in (await client.get(PAGE, headers={"Accept-Language": "en"})).text

    async with person(tenant.host) as other:
        first = await login(other, tenant.clerk_email, tenant.password)
        assert first.status_code == 303 and first.headers["location"] == "/staff/login/code"
        # The password alone opens nothing.
        assert (await other.get("/staff", follow_redirects=False)).headers["location"].startswith("/staff/login")
        wrong = await code_step(other, "000000" if _code(secret) != "000000" else "111111")
        assert wrong.status_code == 422  # type: ignore[attr-defined]
        done = await code_step(other, _code(secret, 1))
        assert done.status_code == 303 and done.headers["location"] == "/staff"  # type: ignore[attr-defined]
        assert (await other.get("/staff")).status_code == 200


async def test_a_code_works_once_only(client: Client, tenant: TenantFixture, person: Person) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    secret, _ = await enrol(client)
    code = _code(secret, 1)
    async with person(tenant.host) as first, person(tenant.host) as second:
        await login(first, tenant.clerk_email, tenant.password)
        await login(second, tenant.clerk_email, tenant.password)
        # The same code at the same moment from two browsers: one gets in.
        answers = await asyncio.gather(code_step(first, code), code_step(second, code))
        assert sorted(a.status_code for a in answers) == [303, 422]  # type: ignore[attr-defined]
        # The code used to set the app up is spent too.
        async with person(tenant.host) as third:
            await login(third, tenant.clerk_email, tenant.password)
            assert (await code_step(third, _code(secret))).status_code == 422  # type: ignore[attr-defined]


async def test_recovery_codes_work_once_each(client: Client, tenant: TenantFixture, person: Person) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    _, codes = await enrol(client)
    async with person(tenant.host) as phone_lost:
        await login(phone_lost, tenant.clerk_email, tenant.password)
        assert (await code_step(phone_lost, codes[3].upper())).status_code == 303  # type: ignore[attr-defined]
        assert "9 recovery codes left" in (await phone_lost.get(PAGE, headers={"Accept-Language": "en"})).text
    async with person(tenant.host) as again:
        await login(again, tenant.clerk_email, tenant.password)
        assert (await code_step(again, codes[3])).status_code == 422  # type: ignore[attr-defined]


async def test_five_wrong_codes_end_the_half_login(client: Client, tenant: TenantFixture, person: Person) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    secret, _ = await enrol(client)
    async with person(tenant.host) as guesser:
        await login(guesser, tenant.clerk_email, tenant.password)
        for _ in range(4):
            assert (await code_step(guesser, "123456" if _code(secret) != "123456" else "654321")).status_code == 422  # type: ignore[attr-defined]
        last = await code_step(guesser, "123456" if _code(secret) != "123456" else "654321")
        assert last.status_code == 200 and 'action="/staff/login"' in last.text  # type: ignore[attr-defined]
        # The right code is no use now: the password comes first again.
        page = await guesser.get("/staff/login/code", follow_redirects=False)
        assert page.status_code == 200 and 'action="/staff/login"' in page.text and 'name="code"' not in page.text


async def test_setting_up_refuses_a_wrong_code_and_keeps_the_secret(client: Client, tenant: TenantFixture) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    page = await client.get(PAGE)
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", page.text).group(1)  # type: ignore[union-attr]
    wrong = await client.post(PAGE, data={"_csrf_token": csrf_token(page.text), "code": "12"})
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text
    assert secret in wrong.text  # the same secret: the app the person already scanned stays right
    for odd in ("²²²²²²", "üüüüüü", "12\x003456", "x" * 5000):  # never a server error, the same clear answer
        again = await client.post(PAGE, data={"_csrf_token": csrf_token(page.text), "code": odd})
        assert again.status_code == 422 and 'aria-invalid="true"' in again.text, odd


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


async def test_a_code_typed_in_another_script_s_digits_counts(
    client: Client, tenant: TenantFixture, person: Person
) -> None:
    """A phone's keyboard set to Arabic or Persian types its own digits; they mean the same code."""
    await login(client, tenant.clerk_email, tenant.password)
    secret, recovery = await enrol(client)
    async with person(tenant.host) as other:
        await login(other, tenant.clerk_email, tenant.password)
        superscript = await code_step(other, _code(secret, 1).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")))
        assert superscript.status_code == 422  # type: ignore[attr-defined]
        done = await code_step(other, _code(secret, 1).translate(ARABIC_INDIC))
        assert done.status_code == 303  # type: ignore[attr-defined]
    async with person(tenant.host) as third:
        await login(third, tenant.clerk_email, tenant.password)
        persian = recovery[0].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        assert (await code_step(third, persian)).status_code == 303  # type: ignore[attr-defined]


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return replace(settings, staff_second_factor="required")


async def test_a_platform_that_requires_it_sends_staff_to_set_it_up_first(
    strict: Settings, tenant: TenantFixture
) -> None:
    async with AsyncTestClient(create_app(strict), base_url=f"http://{tenant.host}") as c:
        assert (await login(c, tenant.admin_email, tenant.password)).status_code == 303
        for path in ("/staff", "/staff/admin", "/staff/admin/branding"):
            held = await c.get(path, follow_redirects=False)
            assert held.status_code == 303 and held.headers["location"] == PAGE, path
        page = await c.get(PAGE, headers={"Accept-Language": "en"})
        assert "requires two-step login" in page.text
        await enrol(c)
        assert (await c.get("/staff")).status_code == 200
        # Required: it cannot be switched off.
        page = await c.get(PAGE, headers={"Accept-Language": "en"})
        assert "/staff/account/two-factor/disable" not in page.text


async def test_switching_off_needs_the_password_and_a_code(client: Client, tenant: TenantFixture) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    secret, _ = await enrol(client)
    page = await client.get(PAGE)
    token = csrf_token(page.text)
    refused = await client.post(
        f"{PAGE}/disable", data={"_csrf_token": token, "password": "wrong", "code": _code(secret, 1)}
    )
    assert refused.status_code == 422
    done = await client.post(
        f"{PAGE}/disable",
        data={"_csrf_token": token, "password": tenant.password, "code": _code(secret, 1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (await login(client, tenant.clerk_email, tenant.password)).headers["location"] == "/staff"

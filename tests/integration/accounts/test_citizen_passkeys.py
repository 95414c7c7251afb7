"""Passkeys for citizens' accounts: add one while signed in, sign in with it, remove it; and every way an answer
can be wrong is refused with a page, never a 5xx. The answers come from a software authenticator that signs with
real keys (tests/softauthn.py), so the server's WebAuthn checks run as they do for a browser."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from backend.accounts.citizens import SESSION_COOKIE
from backend.accounts.models import CitizenPasskey, PasskeyChallenge
from backend.accounts.passkey_pages import OPTIONS_PER_CLIENT
from backend.app import create_app
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture, make_tenant
from tests.helpers import Client, submit_case
from tests.integration.accounts.test_citizen_accounts import ANNA, db_run, empty_outbox, rows, sign_in  # noqa: F401
from tests.integration.cases.test_feedback import english
from tests.softauthn import SoftAuthenticator, b64url, unb64url


def authenticator(tenant: TenantFixture) -> SoftAuthenticator:
    return SoftAuthenticator(origin=f"http://{tenant.host}")


async def options(client: Client, path: str, page: str) -> Any:
    token = csrf_token((await client.get(page)).text)
    return await client.post(path, headers={"X-CSRFToken": token, "Accept": "application/json"})


async def add_passkey(client: Client, device: SoftAuthenticator, name: str = "Mein Telefon") -> Any:
    offered = await options(client, "/account/passkeys/options", "/account")
    assert offered.status_code == 201, offered.text
    credential = device.create(offered.json())
    token = csrf_token((await client.get("/account")).text)
    return await client.post(
        "/account/passkeys",
        data={"_csrf_token": token, "credential": credential, "name": name},
        follow_redirects=False,
    )


async def sign_in_options(client: Client) -> dict[str, Any]:
    offered = await options(client, "/account/sign-in/passkey/options", "/account/sign-in")
    assert offered.status_code == 201, offered.text
    assert offered.headers["cache-control"] == "no-store"
    return offered.json()  # type: ignore[no-any-return]


async def send_answer(client: Client, credential: str) -> Any:
    token = csrf_token((await client.get("/account/sign-in")).text)
    return await client.post(
        "/account/sign-in/passkey", data={"_csrf_token": token, "credential": credential}, follow_redirects=False
    )


async def sign_out(client: Client) -> None:
    token = csrf_token((await client.get("/account")).text)
    assert (await client.post("/account/sign-out", data={"_csrf_token": token})).status_code == 200
    assert not client.cookies.get(SESSION_COOKIE)


async def test_a_citizen_adds_a_passkey_and_signs_in_with_it_without_an_email(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    tracking = await submit_case(client, tenant, key="passkey-case-0123456789abc", photo=False)
    await sign_in(client, settings, tenant)
    page = await client.get("/account")
    assert 'data-passkey-form="add"' in page.text and "/static/js/passkeys.js" in page.text
    device = authenticator(tenant)

    offered = (await options(client, "/account/passkeys/options", "/account")).json()
    assert offered["rp"]["id"] == tenant.host and offered["rp"]["name"] == tenant.name
    assert offered["user"]["name"] == ANNA
    assert offered["authenticatorSelection"]["residentKey"] == "required"

    added = await add_passkey(client, device, "Mein Telefon")
    assert added.status_code == 303 and added.headers["location"] == "/account?passkey=added", added.text
    page = await client.get(added.headers["location"])
    assert "The passkey was added" in page.text and "Mein Telefon" in page.text and "Not used yet" in page.text
    [stored] = await rows(settings, CitizenPasskey, CitizenPasskey.tenant_id == tenant.id)
    assert stored.rp_id == tenant.host and stored.credential_id == b64url(device.passkeys[0].credential_id)
    # A second passkey is offered without the first: the browser does not make one twice.
    again = (await options(client, "/account/passkeys/options", "/account")).json()
    assert [c["id"] for c in again["excludeCredentials"]] == [stored.credential_id]

    await sign_out(client)
    sign_in_page = await client.get("/account/sign-in")
    assert 'data-passkey-form="sign-in"' in sign_in_page.text
    answer = device.get(await sign_in_options(client))
    signed_in = await send_answer(client, answer)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account", signed_in.text
    mine = await client.get("/account")
    assert f'href="{tracking}"' in mine.text and "Signed in as anna@example.org" in mine.text
    assert "Last used" in mine.text
    [used] = await rows(settings, CitizenPasskey, CitizenPasskey.tenant_id == tenant.id)
    assert used.sign_count == 1 and used.last_used_at is not None

    # The same answer again: its challenge is spent.
    await sign_out(client)
    replayed = await send_answer(client, answer)
    assert replayed.status_code == 422 and "This passkey could not sign you in" in replayed.text
    assert not client.cookies.get(SESSION_COOKIE)


async def test_answers_that_do_not_hold_are_refused_with_a_page(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    await sign_in(client, settings, tenant)
    device = authenticator(tenant)
    assert (await add_passkey(client, device)).status_code == 303
    await sign_out(client)

    def tampered(answer: str, **response: str) -> str:
        parsed = json.loads(answer)
        parsed["response"].update(response)
        return json.dumps(parsed)

    # Each with a fresh challenge, so that only the named flaw is wrong.
    elsewhere = SoftAuthenticator(origin="http://evil.localhost", passkeys=device.passkeys)
    good = device.get(await sign_in_options(client))
    signature = b64url(bytes(reversed(unb64url(json.loads(good)["response"]["signature"]))))
    flawed = {
        "another origin": elsewhere.get(await sign_in_options(client)),
        "a forged signature": tampered(device.get(await sign_in_options(client)), signature=signature),
        "another relying party": device.get(
            {**(await sign_in_options(client)), "rpId": "evil.localhost"}, device.passkeys[0]
        ),
        "a challenge the server never made": device.get({"rpId": tenant.host, "challenge": b64url(b"x" * 32)}),
        "an unknown passkey": json.dumps({**json.loads(device.get(await sign_in_options(client))), "id": "bm8"}),
        "not JSON": "{{{",
        "no credential": "",
        "an answer too long": "x" * 20_000,
        "a JSON array": "[1, 2]",
        "no client data": json.dumps({"id": "x", "response": {}}),
    }
    for flaw, answer in flawed.items():
        refused = await send_answer(client, answer)
        assert refused.status_code == 422, (flaw, refused.status_code)
        assert "This passkey could not sign you in" in refused.text, flaw
        assert 'role="alert"' in refused.text
        assert not client.cookies.get(SESSION_COOKIE), flaw

    # An expired challenge.
    late = await sign_in_options(client)
    await db_run(
        settings,
        update(PasskeyChallenge)
        .where(PasskeyChallenge.challenge == late["challenge"])
        .values(expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)),
    )
    assert (await send_answer(client, device.get(late))).status_code == 422
    # And the good one still signs in: nothing above spent its challenge.
    assert (await send_answer(client, good)).status_code == 303


async def test_adding_needs_a_signed_in_account_and_a_sound_answer(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    refused = await options(client, "/account/passkeys/options", "/account/sign-in")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    token = csrf_token((await client.get("/account/sign-in")).text)
    unsigned = await client.post(
        "/account/passkeys", data={"_csrf_token": token, "credential": "{}"}, follow_redirects=False
    )
    assert unsigned.status_code == 303 and unsigned.headers["location"] == "/account/sign-in"

    await sign_in(client, settings, tenant)
    device = authenticator(tenant)
    offered = (await options(client, "/account/passkeys/options", "/account")).json()
    token = csrf_token((await client.get("/account")).text)
    for answer in ("", "{{{", SoftAuthenticator(origin="http://evil.localhost").create(offered)):
        bad = await client.post("/account/passkeys", data={"_csrf_token": token, "credential": answer, "name": "X"})
        assert bad.status_code == 422 and "The passkey could not be added" in bad.text
        assert 'role="alert"' in bad.text
        assert (
            'name="name" type="text" maxlength="80" autocomplete="off" aria-describedby="passkey-name-help" value="X"'
            in bad.text
        )
    # A sign-in challenge does not add a passkey.
    sign_in_challenge = await sign_in_options(client)
    made = device.create({**offered, "challenge": sign_in_challenge["challenge"]})
    bad = await client.post("/account/passkeys", data={"_csrf_token": token, "credential": made, "name": "X"})
    assert bad.status_code == 422
    assert await rows(settings, CitizenPasskey, CitizenPasskey.tenant_id == tenant.id) == []


async def test_a_passkey_is_removed_and_signs_in_no_more(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    await sign_in(client, settings, tenant)
    device = authenticator(tenant)
    assert (await add_passkey(client, device, "Alt")).status_code == 303
    page = await client.get("/account")
    found = re.search(r'action="(/account/passkeys/[0-9a-f-]{36}/delete)"', page.text)
    assert found
    removed = await client.post(found.group(1), data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert removed.status_code == 303 and removed.headers["location"] == "/account?passkey=removed"
    assert "The passkey was removed" in (await client.get("/account?passkey=removed")).text
    again = await client.post(found.group(1), data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert again.status_code == 404
    await sign_out(client)
    assert (await send_answer(client, device.get(await sign_in_options(client)))).status_code == 422


async def test_a_passkey_of_one_municipality_signs_in_nowhere_else(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    await sign_in(client, settings, tenant)
    device = authenticator(tenant)
    assert (await add_passkey(client, device)).status_code == 303
    other = await make_tenant(settings)
    async with AsyncTestClient(create_app(settings), base_url=f"http://{other.host}") as there:
        offered = await sign_in_options(there)
        assert offered["rpId"] == other.host
        # Even a browser that offered it there (it would not: another host) gets no session.
        answer = SoftAuthenticator(origin=f"http://{other.host}").get(offered, device.passkeys[0])
        assert (await send_answer(there, answer)).status_code == 422
        assert not there.cookies.get(SESSION_COOKIE)


async def test_the_data_download_lists_the_passkeys_and_deleting_the_account_deletes_them(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    await sign_in(client, settings, tenant)
    assert (await add_passkey(client, authenticator(tenant), "Laptop")).status_code == 303
    download = await client.get("/account/data.zip")
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        data = json.loads(archive.read("data.json"))
    [listed] = data["account"]["passkeys"]
    assert listed["name"] == "Laptop" and listed["host"] == tenant.host and listed["last_used_at"] is None
    token = csrf_token((await client.get("/account")).text)
    deleted = await client.post(
        "/account/delete", data={"_csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert await rows(settings, CitizenPasskey, CitizenPasskey.tenant_id == tenant.id) == []


async def test_sign_in_challenges_are_limited_per_client(client: Client, tenant: TenantFixture) -> None:
    for _ in range(OPTIONS_PER_CLIENT):
        assert (await options(client, "/account/sign-in/passkey/options", "/account/sign-in")).status_code == 201
    refused = await options(client, "/account/sign-in/passkey/options", "/account/sign-in")
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")

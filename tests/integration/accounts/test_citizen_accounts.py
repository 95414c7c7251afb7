"""Citizens' accounts: sign in with a one-time code by e-mail, "My requests", the data download, deletion."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from backend.accounts.citizens import PENDING_COOKIE, SESSION_COOKIE, purge_expired_sign_ins
from backend.accounts.models import CitizenAccount, CitizenSession, CitizenSignInCode
from backend.cases.models import Case
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_case, submit_from_review
from tests.integration.cases.test_feedback import english
from tests.integration.core.routes import ENDPOINTS
from tests.integration.notifications.conftest import FAST, outbox
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401  (the in-process SMTP server)

ANNA = "anna@example.org"


@pytest.fixture(autouse=True)
async def empty_outbox(settings: Settings) -> None:
    """Other tests leave e-mails behind; each test here starts with an empty outbox."""
    await db_run(settings, delete(OutboxMessage))


async def ask_code(client: Client, email: str) -> Any:
    page = await client.get("/account/sign-in")
    assert page.status_code == 200, page.status_code
    return await client.post(
        "/account/sign-in", data={"_csrf_token": csrf_token(page.text), "email": email}, follow_redirects=False
    )


async def last_code(settings: Settings, tenant: TenantFixture, email: str) -> str:
    rows = [
        r
        for r in await outbox(settings, tenant_id=tenant.id, email=email)
        if r.payload["kind"] == "citizen_sign_in_code"
    ]
    assert rows, "no sign-in e-mail queued"
    return str(rows[-1].payload["details"][1])


async def enter_code(client: Client, code: str) -> Any:
    page = await client.get("/account/sign-in/code")
    token = csrf_token(page.text) if page.status_code == 200 else client.cookies.get("rathaus_csrf", "")
    return await client.post("/account/sign-in/code", data={"_csrf_token": token, "code": code}, follow_redirects=False)


async def sign_in(client: Client, settings: Settings, tenant: TenantFixture, email: str = ANNA) -> Any:
    asked = await ask_code(client, email)
    assert asked.status_code == 303 and asked.headers["location"] == "/account/sign-in/code", asked.text
    done = await enter_code(client, await last_code(settings, tenant, email))
    assert done.status_code == 303 and done.headers["location"] == "/account", done.text
    return done


async def db_run(settings: Settings, statement: Any) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(statement)
    finally:
        await db.get_engine().dispose()


async def rows(settings: Settings, model: Any, *where: Any) -> list[Any]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return list(await session.scalars(select(model).where(*where)))
    finally:
        await db.get_engine().dispose()


async def test_a_citizen_signs_in_with_a_code_and_sees_the_requests_sent_earlier_with_that_address(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    tracking = await submit_case(client, tenant, key="earlier-case-0123456789ab", photo=False)  # with anna@example.org
    assert (await client.get("/account", follow_redirects=False)).headers["location"] == "/account/sign-in"
    asked = await ask_code(client, "  Anna@Example.ORG ")
    assert asked.status_code == 303
    [row] = [r for r in await outbox(settings, tenant_id=tenant.id, email=ANNA) if r.payload["kind"] != "receipt"]
    assert (row.channel, row.language, row.payload["kind"]) == ("email", "en", "citizen_sign_in_code")
    code = str(row.payload["details"][1])
    assert re.fullmatch(r"\d{6}", code)
    [stored] = await rows(settings, CitizenSignInCode, CitizenSignInCode.tenant_id == tenant.id)
    assert code not in (stored.code_hash, stored.browser_hash), "only a hash of the code is kept"
    page = await client.get("/account/sign-in/code")
    assert page.status_code == 200 and ANNA in page.text and 'name="code"' in page.text
    assert page.headers["cache-control"] == "no-store"

    done = await enter_code(client, code)
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert client.cookies.get(SESSION_COOKIE) and "rathaus_session" not in client.cookies, "not a staff session"
    assert (await client.get("/staff", follow_redirects=False)).status_code in (302, 303), "no staff page opens"
    mine = await client.get("/account")
    assert mine.status_code == 200 and mine.headers["cache-control"] == "no-store"
    assert f'href="{tracking}"' in mine.text and "Signed in as anna@example.org" in mine.text
    [case] = await rows(settings, Case, Case.tenant_id == tenant.id)
    [account] = await rows(settings, CitizenAccount, CitizenAccount.tenant_id == tenant.id)
    assert case.account_id == account.id and account.email == ANNA


async def test_the_code_is_mailed_in_the_citizens_language_from_the_municipality_and_then_forgotten(
    client: Client,
    tenant: TenantFixture,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    assert (await ask_code(client, ANNA)).status_code == 303  # German: the default language
    code = await last_code(settings, tenant, ANNA)
    inbox, port = smtp
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="r@example.org")
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    [mail] = inbox.messages
    assert tenant.name in mail["From"] and mail["To"] == ANNA
    body = mail.get_content()  # type: ignore[attr-defined]
    assert code in body and "Hallo" in body and "/account/sign-in/code" in body
    [row] = await outbox(settings, tenant_id=tenant.id, email=ANNA)
    assert row.status == "sent" and code not in json.dumps(row.payload), "the outbox forgets the code once sent"


async def test_an_expired_code_is_refused(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    english(client)
    await ask_code(client, ANNA)
    code = await last_code(settings, tenant, ANNA)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    await db_run(
        settings, update(CitizenSignInCode).where(CitizenSignInCode.tenant_id == tenant.id).values(expires_at=past)
    )
    refused = await enter_code(client, code)
    assert refused.status_code == 422 and "expired" in refused.text
    assert SESSION_COOKIE not in client.cookies


async def test_a_code_works_once(client: Client, tenant: TenantFixture, settings: Settings, person: Person) -> None:
    english(client)
    await ask_code(client, ANNA)
    code = await last_code(settings, tenant, ANNA)
    pending = client.cookies.get(PENDING_COOKIE)
    assert (await enter_code(client, code)).status_code == 303
    async with person(tenant.host) as replay:  # the same browser's pending cookie, replayed elsewhere
        english(replay)
        replay.cookies.set(PENDING_COOKIE, pending or "", domain=tenant.host.split(":")[0], path="/account")
        refused = await enter_code(replay, code)
        assert refused.status_code == 422 and "already used" in refused.text
        assert SESSION_COOKIE not in replay.cookies


async def test_a_code_typed_with_another_script_s_digits_counts(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    """A keyboard set to Persian or Arabic types its own digits; they mean the same code, superscripts do not."""
    english(client)
    await ask_code(client, ANNA)
    code = await last_code(settings, tenant, ANNA)
    superscript = await enter_code(client, code.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")))
    assert superscript.status_code == 422 and "not correct" in superscript.text
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = await enter_code(client, f"{persian[:3]} {persian[3:]}")
    assert done.status_code == 303 and done.headers["location"] == "/account", done.text


async def test_a_code_is_dead_after_five_wrong_tries(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    english(client)
    await ask_code(client, ANNA)
    code = await last_code(settings, tenant, ANNA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        answer = await enter_code(client, wrong)
        assert answer.status_code == 422 and "not correct" in answer.text
    fifth = await enter_code(client, wrong)
    assert fifth.status_code == 422 and "Too many wrong codes" in fifth.text
    refused = await enter_code(client, code)
    assert refused.status_code == 422 and "Too many wrong codes" in refused.text
    assert SESSION_COOKIE not in client.cookies
    [stored] = await rows(settings, CitizenSignInCode, CitizenSignInCode.tenant_id == tenant.id)
    assert stored.tries == 5 and stored.used_at is None


async def test_a_new_code_replaces_the_one_before(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    english(client)
    await ask_code(client, ANNA)
    first = await last_code(settings, tenant, ANNA)
    await ask_code(client, ANNA)
    second = await last_code(settings, tenant, ANNA)
    if first != second:
        assert (await enter_code(client, first)).status_code == 422
    assert (await enter_code(client, second)).status_code == 303


async def test_code_requests_are_limited_per_address_and_per_client(
    client: Client, tenant: TenantFixture, person: Person
) -> None:
    english(client)
    for _ in range(5):
        assert (await ask_code(client, ANNA)).status_code == 303
    limited = await ask_code(client, ANNA)
    assert limited.status_code == 429 and "wait an hour" in limited.text
    assert 'value="anna@example.org"' in limited.text, "what was typed is kept"
    for n in range(14):  # 6 asked already: the client's 20 are used up with other addresses
        assert (await ask_code(client, f"other{n}@example.org")).status_code == 303
    assert (await ask_code(client, "someone-new@example.org")).status_code == 429


async def test_a_signed_in_citizen_s_new_request_joins_the_account_whatever_address_it_gives(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    await sign_in(client, settings, tenant, "bert@example.org")
    tracking = await submit_case(client, tenant, key="signed-in-case-0123456789", photo=False)  # gives anna's address
    mine = await client.get("/account")
    assert f'href="{tracking}"' in mine.text


async def test_signing_in_again_makes_a_new_session_and_ends_the_old_one(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    await sign_in(client, settings, tenant)
    first = client.cookies.get(SESSION_COOKIE)
    await sign_in(client, settings, tenant)
    second = client.cookies.get(SESSION_COOKIE)
    assert first and second and first != second
    assert len(await rows(settings, CitizenSession, CitizenSession.tenant_id == tenant.id)) == 1
    token = csrf_token((await client.get("/account")).text)
    out = await client.post("/account/sign-out", data={"_csrf_token": token}, follow_redirects=True)
    assert out.status_code == 200 and "You have signed out" in out.text
    assert await rows(settings, CitizenSession, CitizenSession.tenant_id == tenant.id) == []
    assert (await client.get("/account", follow_redirects=False)).status_code == 303


async def test_an_account_of_one_municipality_never_sees_another_s_requests(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings, person: Person
) -> None:
    async with person(other_tenant.host) as elsewhere:
        there = await submit_case(elsewhere, other_tenant, key="other-town-case-012345678", photo=False)
    here = await submit_case(client, tenant, key="this-town-case-0123456789", photo=False)
    await sign_in(client, settings, tenant)
    mine = await client.get("/account")
    assert here in mine.text and there not in mine.text
    [other_case] = await rows(settings, Case, Case.tenant_id == other_tenant.id)
    assert other_case.account_id is None, "linking stays within the municipality"
    async with person(other_tenant.host) as elsewhere:
        elsewhere.cookies.set(
            SESSION_COOKIE, client.cookies.get(SESSION_COOKIE) or "", domain=other_tenant.host.split(":")[0]
        )
        assert (await elsewhere.get("/account", follow_redirects=False)).headers["location"] == "/account/sign-in"
        assert (await elsewhere.get("/account/data.zip", follow_redirects=False)).status_code == 303


async def test_the_data_download_holds_the_account_the_requests_and_their_files(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    photo = jpeg_bytes()
    review = await post_form(
        client, tenant, VALID_ANSWERS, key="zip-case-0123456789abcdef", files=[("lamp.jpg", photo)]
    )
    tracking = (await submit_from_review(client, tenant, review.text)).headers["location"].split("?")[0]
    await sign_in(client, settings, tenant)
    answer = await client.get("/account/data.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"] and answer.headers["cache-control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == ANNA and data["municipality"] == tenant.name
    [case] = data["requests"]
    assert case["tracking_link"] == tracking and case["contact_email"] == ANNA
    assert case["answers"]["what"] == VALID_ANSWERS["what"] and case["timeline"][0]["kind"] == "submitted"
    [listed] = case["attachments"]
    assert listed["filename"] == "lamp.jpg" and archive.read(listed["file"])[:2] == b"\xff\xd8"


async def test_deleting_the_account_keeps_the_requests_without_contact_data(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    english(client)
    tracking = await submit_case(client, tenant, key="deleted-case-0123456789ab", photo=False)
    await sign_in(client, settings, tenant)
    token = csrf_token((await client.get("/account")).text)
    unconfirmed = await client.post("/account/delete", data={"_csrf_token": token})
    assert unconfirmed.status_code == 422 and "Please confirm" in unconfirmed.text
    done = await client.post("/account/delete", data={"_csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account/sign-in?deleted=1"
    assert await rows(settings, CitizenAccount, CitizenAccount.tenant_id == tenant.id) == []
    assert await rows(settings, CitizenSession, CitizenSession.tenant_id == tenant.id) == []
    [case] = await rows(settings, Case, Case.tenant_id == tenant.id)
    assert case.contact_email is None and case.account_id is None and case.emails_off
    assert "email" not in case.answers and case.answers["what"] == VALID_ANSWERS["what"]
    assert "anna" not in case.search_text and "laterne" in case.search_text
    assert [m for m in await outbox(settings, tenant_id=tenant.id) if m.email] == [], "no e-mail keeps the address"
    assert (await client.get(tracking)).status_code == 200, "the private link keeps working"
    assert (await client.get("/account", follow_redirects=False)).headers["location"] == "/account/sign-in"


ACCOUNT_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/account")]


async def test_every_account_route_ignores_a_session_and_a_code_of_another_municipality(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings, person: Person
) -> None:
    """Each /account route of the route table (a route added later included), read or write, with town A's
    cookies on town B's host: nothing of A's account is shown, used or changed."""
    assert len(ACCOUNT_ROUTES) >= 8, ACCOUNT_ROUTES
    await submit_case(client, tenant, key="isolated-case-0123456789ab", photo=False)
    await sign_in(client, settings, tenant)
    await ask_code(client, ANNA)  # a code pending in this browser too
    code = await last_code(settings, tenant, ANNA)
    session, pending = client.cookies.get(SESSION_COOKIE) or "", client.cookies.get(PENDING_COOKIE) or ""
    async with person(other_tenant.host) as stranger:
        english(stranger)
        host = other_tenant.host.split(":")[0]
        stranger.cookies.set(SESSION_COOKIE, session, domain=host)
        stranger.cookies.set(PENDING_COOKIE, pending, domain=host, path="/account")
        csrf = csrf_token((await stranger.get("/find")).text)
        for endpoint in ACCOUNT_ROUTES:
            data = {"_csrf_token": csrf, "email": ANNA, "code": code, "confirm": "yes"}
            response = await stranger.request(
                endpoint.method, endpoint.path, data=data if endpoint.method != "GET" else None, follow_redirects=False
            )
            assert response.status_code < 500, (endpoint.id, response.status_code)
            assert ANNA not in response.text or endpoint.path == "/account/sign-in", endpoint.id
            assert "zip" not in response.headers.get("content-type", ""), endpoint.id
    assert await rows(settings, CitizenAccount, CitizenAccount.tenant_id == other_tenant.id) == []
    [account] = await rows(settings, CitizenAccount, CitizenAccount.tenant_id == tenant.id)
    [case] = await rows(settings, Case, Case.tenant_id == tenant.id)
    assert case.account_id == account.id and case.contact_email == ANNA
    assert (await client.get("/account")).status_code == 200, "still signed in at home"
    assert (await enter_code(client, code)).status_code == 303, "the code still works at home"


async def test_codes_and_sessions_that_ran_out_are_forgotten(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    await sign_in(client, settings, tenant)
    await ask_code(client, ANNA)
    db = alchemy_config(settings)
    try:
        await purge_expired_sign_ins(db)
        assert len(await rows(settings, CitizenSession, CitizenSession.tenant_id == tenant.id)) == 1
        assert len(await rows(settings, CitizenSignInCode, CitizenSignInCode.tenant_id == tenant.id)) == 2
        await purge_expired_sign_ins(db, now=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31))
    finally:
        await db.get_engine().dispose()
    assert await rows(settings, CitizenSession, CitizenSession.tenant_id == tenant.id) == []
    assert await rows(settings, CitizenSignInCode, CitizenSignInCode.tenant_id == tenant.id) == []
    assert (await client.get("/account", follow_redirects=False)).status_code == 303

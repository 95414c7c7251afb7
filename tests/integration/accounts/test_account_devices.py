"""A signed-in citizen's device follows every request of the account, and the requests a device remembers join
the account when the citizen asks."""

from __future__ import annotations

import re

from backend.accounts.models import CitizenAccount
from backend.cases.models import Case
from backend.notifications.models import CaseSubscription, PushSubscription
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.accounts.test_citizen_accounts import empty_outbox, rows, sign_in  # noqa: F401
from tests.integration.cases.test_feedback import english
from tests.integration.notifications.conftest import follow
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401
from tests.pushservice import PushService


async def _followed(settings: Settings, device_endpoint: str) -> set[str]:
    """The references the device follows."""
    [device] = await rows(settings, PushSubscription, PushSubscription.endpoint == device_endpoint)
    links = await rows(settings, CaseSubscription, CaseSubscription.subscription_id == device.id)
    cases = await rows(settings, Case, Case.id.in_([link.case_id for link in links]))
    return {c.reference for c in cases}


async def _reference(settings: Settings, tracking: str) -> str:
    [case] = await rows(settings, Case, Case.tracking_token == tracking.rsplit("/", 1)[1])
    return str(case.reference)


async def test_a_signed_in_citizen_s_device_follows_every_request_of_the_account(
    client: Client, tenant: TenantFixture, settings: Settings, person: Person
) -> None:
    english(client)
    push = PushService()
    try:
        earlier = await submit_case(client, tenant, key="device-earlier-0123456789", photo=False)  # anna's address
        await sign_in(client, settings, tenant)  # the earlier request joins the account
        second = await submit_case(client, tenant, key="device-second-0123456789a", photo=False)
        device = push.subscribe()
        assert (await follow(client, second, device)).status_code == 201
        assert await _followed(settings, device["endpoint"]) == {
            await _reference(settings, earlier),
            await _reference(settings, second),
        }, "subscribing on one request of the account follows all of them"
        [stored] = await rows(settings, PushSubscription, PushSubscription.endpoint == device["endpoint"])
        [account] = await rows(settings, CitizenAccount, CitizenAccount.tenant_id == tenant.id)
        assert stored.account_id == account.id

        third = await submit_case(client, tenant, key="device-third-0123456789ab", photo=False)
        assert await _reference(settings, third) in await _followed(settings, device["endpoint"]), "a new one too"

        # Someone else's request followed on this device while signed in stays just that one request.
        async with person(tenant.host) as other:
            foreign = await submit_case(other, tenant, key="device-foreign-012345678", photo=False)
        assert (await follow(client, foreign, device)).status_code == 201
        [foreign_case] = await rows(settings, Case, Case.tracking_token == foreign.rsplit("/", 1)[1])
        assert foreign_case.account_id is None

        # Deleting the account leaves the device following what it follows, without the account.
        page = await client.get("/account")
        deleted = await client.post(
            "/account/delete", data={"_csrf_token": csrf_token(page.text), "confirm": "yes"}, follow_redirects=False
        )
        assert deleted.status_code in (200, 303), deleted.text
        [stored] = await rows(settings, PushSubscription, PushSubscription.endpoint == device["endpoint"])
        assert stored.account_id is None
    finally:
        push.close()


async def test_the_requests_a_device_remembers_join_the_account_on_request(
    client: Client, tenant: TenantFixture, settings: Settings, person: Person
) -> None:
    english(client)
    async with person(tenant.host) as phone:
        remembered = [
            await submit_case(phone, tenant, key=f"device-remembered-{n}-0123456", photo=False) for n in range(2)
        ]
    async with person(tenant.host) as bert:
        await sign_in(bert, settings, tenant, "bert@example.org")
        berts = await submit_case(bert, tenant, key="device-bert-0123456789abc", photo=False)
    await sign_in(client, settings, tenant, "carla@example.org")
    page = await client.get("/account")
    assert 'action="/account/device-requests"' in page.text and "data-device-requests" in page.text
    tokens = [t.rsplit("/", 1)[1] for t in [*remembered, berts]] + ["no-such-token", "x" * 500]
    joined = await client.post(
        "/account/device-requests",
        data={"_csrf_token": csrf_token(page.text), "token": tokens},
        follow_redirects=False,
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/account?joined=2"
    mine = await client.get(joined.headers["location"])
    assert "2 requests from this device were added to your account." in mine.text
    for tracking in remembered:
        assert f'href="{tracking}"' in mine.text
    assert f'href="{berts}"' not in mine.text, "a request of another account stays there"
    assert re.search(r'data-known="[^"]*' + remembered[0].rsplit("/", 1)[1], mine.text), "the page knows its own"
    for odd in ("²", "-1", "9999", "x"):  # an address edited by hand shows the page without the notice
        plain = await client.get(f"/account?joined={odd}")
        assert plain.status_code == 200 and "from this device were added" not in plain.text, odd
    arabic = await client.get("/account?joined=٢")
    assert "2 requests from this device were added to your account." in arabic.text

    # Signed out, the route sends to the sign-in page and changes nothing.
    async with person(tenant.host) as stranger:
        form = await stranger.get("/account/sign-in")
        again = await stranger.post(
            "/account/device-requests",
            data={"_csrf_token": csrf_token(form.text), "token": berts.rsplit("/", 1)[1]},
            follow_redirects=False,
        )
        assert again.status_code == 303 and again.headers["location"] == "/account/sign-in"

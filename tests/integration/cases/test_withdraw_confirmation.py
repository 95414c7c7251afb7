"""Withdrawing a request is final, so it takes a confirmation page; a closed request offers no notifications."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case


async def test_tracking_page_links_to_a_confirmation_instead_of_withdrawing_at_once(
    client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = (await client.get(tracking)).text
    assert f'<a class="button" href="{tracking}/withdraw">' in page
    assert f'action="{tracking}/withdraw"' not in page, "no one-tap withdraw form on the tracking page"

    confirm = await client.get(tracking + "/withdraw")
    assert confirm.status_code == 200
    assert confirm.headers["cache-control"] == "no-cache, private"
    assert f'<form method="post" action="{tracking}/withdraw"' in confirm.text
    assert 'name="reason"' in confirm.text
    assert re.search(r'<button type="submit"[^>]*>(Ja, zurückziehen|Yes, withdraw)</button>', confirm.text)
    assert f'<a class="button" href="{tracking}">' in confirm.text, "Cancel leads back to the request"
    assert "<script>" not in confirm.text
    # Merely looking at the confirmation page changes nothing.
    assert 'status-label">Eingegangen<' in (await client.get(tracking)).text or "Received" in page


async def test_confirming_withdraws_and_the_closed_request_offers_no_notifications(
    client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    assert "data-push=" in (await client.get(tracking)).text, "an open request offers notifications"
    confirm = await client.get(tracking + "/withdraw")
    done = await client.post(
        tracking + "/withdraw",
        data={"_csrf_token": csrf_token(confirm.text), "reason": "Schon repariert"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == tracking
    after = (await client.get(tracking)).text
    assert "Schon repariert" in after
    assert "data-push=" not in after and 'id="notify-title"' not in after
    assert "/withdraw" not in after
    # The confirmation page of a withdrawn request leads back to it.
    again = await client.get(tracking + "/withdraw", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == tracking


async def test_request_the_town_hall_completed_offers_no_notifications(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text)
        assert case_url
        for status in ("in_review", "in_progress", "completed"):
            done = await staff_post(clerk, case_url[1], case_url[1] + "/status", {"to_status": status})
            assert done.status_code == 303
    page = (await client.get(tracking)).text
    assert "data-push=" not in page
    assert (await client.get(tracking + "/withdraw", follow_redirects=False)).status_code == 303


async def test_confirmation_page_of_an_unknown_request_is_a_404(client: Client, tenant: TenantFixture) -> None:
    assert (await client.get("/r/unknown-token-0123456789/withdraw")).status_code == 404

"""Bad input never gives a 500: each mistake gets its own clear page."""

from __future__ import annotations

from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client


async def test_unknown_service_is_a_404_page(client: Client) -> None:
    response = await client.get("/s/no-such-service")
    assert response.status_code == 404
    assert "<h1>" in response.text and "text/html" in response.headers["content-type"]


async def test_unknown_tracking_token_is_a_404_page(client: Client) -> None:
    response = await client.get("/r/not-a-real-token-0000000000")
    assert response.status_code == 404


async def test_post_without_csrf_token_is_a_403_page(client: Client, tenant: TenantFixture) -> None:
    await client.get(f"/s/{tenant.service_slug}/form")
    response = await client.post(f"/s/{tenant.service_slug}/form", data={**VALID_ANSWERS, "_csrf_token": "forged"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]


async def test_malformed_ids_and_query_values_are_not_server_errors(client: Client, tenant: TenantFixture) -> None:
    for path in (
        "/r/x/files/not-a-uuid",
        "/staff/cases/not-a-uuid",
        "/staff?page=abc",
        f"/s/{tenant.service_slug}/drafts/x/files/1",
    ):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code < 500, path


async def test_pages_have_a_strict_content_security_policy(client: Client, tenant: TenantFixture) -> None:
    response = await client.get(f"/s/{tenant.service_slug}/form")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in response.text and " style=" not in response.text
    assert response.headers["cache-control"].startswith("no-cache")
    assert response.headers["referrer-policy"] == "no-referrer"

"""The service search works the same with and without JavaScript."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.factories import TenantFixture
from tests.helpers import Client

# The list's own container ends where the next section of the page begins.
SERVICE_LIST = re.compile(r'<div id="service-list"[^>]*>(.*?)</div>\s*(?:<section|<p class="lost-link|</main>)', re.S)


async def test_search_page_without_javascript_shows_the_same_results_as_the_live_fragment(
    app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    for query in ("Strassenlaterne", "laterne kaputt", "LICHT", "latrene"):
        page = await client.get("/", params={"q": query})
        fragment = await client.get(
            "/", params={"q": query}, headers={"HX-Request": "true", "HX-Target": "service-list"}
        )
        assert page.status_code == fragment.status_code == 200
        match = SERVICE_LIST.search(page.text)
        assert match, page.text
        assert "<html" not in fragment.text
        assert match.group(1).strip() == fragment.text.strip(), query
        assert '/s/street-light"' in fragment.text, query
    nothing = await client.get("/", params={"q": "qwertz"})
    assert '/s/street-light"' not in nothing.text

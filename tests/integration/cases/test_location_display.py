"""The place of a request: a readable position with a map link; without JavaScript no word of a GPS button."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from litestar import Litestar

from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_from_review


def _without_hidden_geo_box(html: str) -> str:
    return re.sub(r'<div class="geo" hidden data-role="geo">.*?</div>', "", html, flags=re.S)


async def test_form_without_javascript_mentions_no_position_button(client: Client, tenant: TenantFixture) -> None:
    page = (await client.get(f"/s/{tenant.service_slug}/form")).text
    assert 'data-role="locate"' in page, "the button is there for JavaScript to reveal"
    visible = _without_hidden_geo_box(page)
    assert "Standort" not in visible and "position" not in visible.lower(), "only the hidden box mentions it"


async def test_tracking_page_shows_the_position_in_german_with_a_map_link(
    app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    answers = {**VALID_ANSWERS, "where__lat": "52.52", "where__lon": "13.405"}
    review = await post_form(client, tenant, answers)
    assert "52,52° N, 13,405° O" in review.text
    done = await submit_from_review(client, tenant, review.text)
    tracking = urlsplit(done.headers["location"]).path
    page = (await client.get(tracking)).text
    assert "52,52° N, 13,405° O" in page and "52.52, 13.405" not in page
    link = re.search(r'<a class="map-link" href="([^"]+)" rel="noreferrer">', page)
    assert link, page
    assert link[1] == "https://www.openstreetmap.org/?mlat=52.52&amp;mlon=13.405#map=18/52.52/13.405"
    assert "<iframe" not in page and "openstreetmap.org/" not in page.replace(link[1], "")

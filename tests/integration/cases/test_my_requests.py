"""My requests on this device: one call answers the current statuses of the tokens the device remembers."""

from __future__ import annotations

from litestar import Litestar

from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.cases.test_feedback import english

URL = "/my-requests/status"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def token_of(tracking: str) -> str:
    return tracking.rsplit("/", 1)[1]


async def test_status_answers_reference_status_label_and_time_for_each_own_token(
    client: Client, tenant: TenantFixture
) -> None:
    english(client)
    first = token_of(await submit_case(client, tenant, key="device-key-mine-0000000001", photo=False))
    second = token_of(await submit_case(client, tenant, key="device-key-mine-0000000002", photo=False))
    response = await client.post(URL, json={"tokens": [first, second]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert set(body) == {first, second}
    assert set(body[first]) == {"reference", "status", "label", "updated_at"}
    assert body[first]["status"] == "submitted" and body[first]["label"] == "Received"
    assert body[first]["reference"] != body[second]["reference"]
    assert body[first]["updated_at"].endswith("+00:00")


async def test_status_says_nothing_about_foreign_or_invalid_tokens(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Person
) -> None:
    mine = token_of(await submit_case(client, tenant, photo=False))
    async with person(other_tenant.host) as neighbour:
        theirs = token_of(await submit_case(neighbour, other_tenant, photo=False))
        assert set((await neighbour.post(URL, json={"tokens": [mine, theirs]})).json()) == {theirs}
    unknown = "A" * 32
    response = await client.post(URL, json={"tokens": [mine, theirs, unknown, "", "../../etc", "x" * 500, mine]})
    assert response.status_code == 200
    assert set(response.json()) == {mine}
    assert (await client.post(URL, json={"tokens": []})).json() == {}


async def test_status_takes_at_most_fifty_tokens(client: Client, tenant: TenantFixture) -> None:
    mine = token_of(await submit_case(client, tenant, photo=False))
    fifty = [mine] + [f"{'B' * 30}{i:02d}" for i in range(49)]
    assert (await client.post(URL, json={"tokens": fifty})).status_code == 200
    too_many = await client.post(URL, json={"tokens": [*fifty, "C" * 32]})
    assert too_many.status_code == 413
    assert too_many.headers["content-type"].startswith("application/problem+json")
    assert too_many.json()["status"] == 413
    huge = await client.post(URL, content=b'{"tokens": ["' + b"D" * 20_000 + b'"]}', headers=JSON)
    assert huge.status_code == 413


async def test_bad_json_gets_problem_details_not_an_error(client: Client, tenant: TenantFixture) -> None:
    for body in (b"", b"{", b"[]", b'{"tokens": "abc"}', b'{"tokens": [1, 2]}', b'{"tokens": []', b'{"other": []}'):
        response = await client.post(URL, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith("application/problem+json"), body
        problem = response.json()
        assert problem["status"] == 400 and problem["title"] and problem["detail"]
    form = await client.post(URL, data={"tokens": "abc"})
    assert form.status_code == 400, "only JSON: a form post from another site is refused"


async def test_status_is_rate_limited_per_client(app: Litestar, client: Client, tenant: TenantFixture) -> None:
    answered = [(await client.post(URL, json={"tokens": []})).status_code for _ in range(31)]
    assert answered[:30] == [200] * 30
    assert answered[30] == 429
    limited = await client.post(URL, json={"tokens": []})
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["status"] == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_home_page_carries_the_device_list_hidden_and_the_lost_link(
    client: Client, tenant: TenantFixture
) -> None:
    english(client)
    page = await client.get("/")
    assert "data-my-requests" in page.text
    section = page.text[page.text.index('<section class="my-requests"') :]
    assert section[: section.index(">")].count("hidden") == 1, "without JavaScript the list stays hidden"
    assert '<script src="/static/js/myrequests.js" defer></script>' in page.text
    assert 'href="/find"' in page.text and "Lost your link?" in page.text


async def test_tracking_page_hands_the_case_to_the_device_list(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking)
    assert f'data-remember="{token_of(tracking)}"' in page.text
    assert 'data-reference="' in page.text and 'data-service="' in page.text
    assert '<script src="/static/js/myrequests.js" defer></script>' in page.text
    assert 'href="/find"' in page.text

"""The inbox search finds what the clerk typed, character for character."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login, submit_case

REFERENCE = re.compile(r">(\d{4}-\d{5})</a>")


async def test_percent_and_underscore_are_searched_literally_not_as_wildcards(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        refs = REFERENCE.findall((await clerk.get("/staff")).text)
        assert len(refs) == 1
        year, number = refs[0].split("-")
        assert REFERENCE.findall((await clerk.get(f"/staff?q={year}-")).text) == refs
        assert not REFERENCE.findall((await clerk.get("/staff?q=%25")).text), "'%' is not a wildcard"
        assert not REFERENCE.findall((await clerk.get(f"/staff?q={year}_")).text), "'_' is not a wildcard"
        assert not REFERENCE.findall((await clerk.get(f"/staff?q={year}%25{number}")).text)

"""Browsers ask every host for /favicon.ico on their own: it is the platform's icon, never a 404."""

from __future__ import annotations

import io

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import TenantFixture


async def test_favicon_is_served_on_the_platform_and_every_municipality_host(
    app: Litestar, tenant: TenantFixture
) -> None:
    bodies = []
    for host in ("localhost:8000", tenant.host, "unknown.localhost"):
        async with AsyncTestClient(app, base_url="http://localhost.") as c:
            response = await c.get("/favicon.ico", headers={"Host": host})
        assert response.status_code == 200, host
        assert response.headers["content-type"] == "image/x-icon"
        assert "set-cookie" not in response.headers
        icon = Image.open(io.BytesIO(response.content))
        assert icon.format == "ICO" and (32, 32) in icon.info["sizes"]
        bodies.append(response.content)
    assert bodies[0] == bodies[1] == bodies[2], "the same platform icon on every host"

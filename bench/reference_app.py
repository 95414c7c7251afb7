"""The practical limit of the HTTP benchmark: a minimal Litestar page of the tracking page's kind.

    python -m bench.serve_app [--gzip-level N] --reference <database url> <port> [uvicorn|granian]

One route, `GET /r/{token}`, that does what a tracking page must do at the least and nothing else: ONE query for
the case and its public timeline (asyncpg on PostgreSQL, aiosqlite on SQLite, straight to the driver), a Jinja
template of about the tracking page's size with forms that carry a CSRF token, Litestar's CSRF middleware (it
sets the cookie) and its gzip at the app's default level (with `--gzip-level 0` none, like the app). No tenancy,
no sessions, no ORM, no translations, no security headers, no metrics. `http_bench.py` measures it as
`reference` with the same server and options as the app, so that a page's share of the hello-world ceiling can
be read against what the stack gives at all.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

TEMPLATES = Path(__file__).resolve().parent / "reference"
GZIP_LEVEL = 6  # the app's default (RATHAUS_GZIP_LEVEL); --gzip-level sets both

# The case and its public timeline in one statement, as the app reads them (backend/cases/services.py).
PAGE_SQL = """
SELECT c.reference, c.status, c.created_at, c.summary, e.kind, e.to_status, e.body, e.created_at
FROM case_file c LEFT JOIN case_event e ON e.case_id = c.id AND e.public
WHERE c.tracking_token = {param}
ORDER BY e.created_at, e.id
"""


def make_app(database_url: str, gzip_level: int | None = None) -> Litestar:
    level = GZIP_LEVEL if gzip_level is None else gzip_level
    postgres = database_url.startswith("postgresql")

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        if postgres:
            import asyncpg

            dsn = "postgresql://" + database_url.split("://", 1)[1]
            pool = await asyncpg.create_pool(dsn, min_size=4, max_size=20)
            sql = PAGE_SQL.format(param="$1")

            async def rows(token: str) -> list[Any]:
                return list(await pool.fetch(sql, token))

            app.state.rows = rows
            try:
                yield
            finally:
                await pool.close()
        else:
            import aiosqlite

            connection = await aiosqlite.connect(database_url.split(":///", 1)[1])
            sql = PAGE_SQL.format(param="?")

            async def rows(token: str) -> list[Any]:
                return list(await connection.execute_fetchall(sql, (token,)))

            app.state.rows = rows
            try:
                yield
            finally:
                await connection.close()

    @get("/r/{token:str}")
    async def tracking(token: str, state: State) -> Template:
        rows = await state.rows(token)
        if not rows:
            raise NotFoundException()
        reference, status, created_at, summary = rows[0][:4]
        events = [{"kind": r[4], "status": r[5], "body": r[6], "at": r[7]} for r in rows if r[4] is not None]
        return Template(
            "tracking.html",
            context={
                "token": token,
                "reference": reference,
                "status": status,
                "created": created_at,
                "summary": summary,
                "events": events,
            },
            headers={"Cache-Control": "no-cache, private"},
        )

    @get("/health", media_type="text/plain")
    async def health() -> str:
        return "ok"

    return Litestar(
        route_handlers=[tracking, health],
        lifespan=[database],
        csrf_config=CSRFConfig(secret=secrets.token_hex(32), cookie_name="csrf", exclude=["^/health$"]),
        compression_config=(
            CompressionConfig(backend="gzip", minimum_size=512, gzip_compress_level=level) if level else None
        ),
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
    )

"""An operator's theme replaces partials (header brand, footer, lists) for the municipalities given it; whole
pages always come from the shipped templates, and every other municipality keeps the shipped look."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from backend.__main__ import main
from backend.app import create_app
from backend.settings import Settings
from tests.factories import TenantFixture

FOOTER = '<div class="wrap"><p>Ein Angebot des Landkreises</p><a href="/imprint">Impressum</a></div>\n'


@pytest.fixture
def themes(tmp_path: Path) -> Path:
    kreis = tmp_path / "themes" / "landkreis"
    kreis.mkdir(parents=True)
    (kreis / "_footer.html").write_text(FOOTER)
    (kreis / "home.html").write_text("a whole page, which a theme may not replace")
    (tmp_path / "themes" / "other").mkdir()
    return tmp_path / "themes"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings, themes: Path) -> None:
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RATHAUS_THEMES_DIR", str(themes))


async def test_a_theme_replaces_partials_for_its_municipality_only(
    settings: Settings, themes: Path, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await asyncio.to_thread(main, ["tenant", "theme", tenant.slug, "landkreis"])
    app = create_app(replace(settings, themes_dir=themes))
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as themed:
        home = await themed.get("/")
        assert home.status_code == 200
        assert "Ein Angebot des Landkreises" in home.text
        assert "a whole page" not in home.text and 'href="/s/' in home.text  # the page itself is the shipped one
        assert "Ein Angebot des Landkreises" in (await themed.get("/contact")).text
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as plain:
        home = await plain.get("/")
        assert "Ein Angebot des Landkreises" not in home.text and 'href="/privacy"' in home.text


async def test_back_to_the_shipped_look(settings: Settings, themes: Path, tenant: TenantFixture) -> None:
    await asyncio.to_thread(main, ["tenant", "theme", tenant.slug, "landkreis"])
    await asyncio.to_thread(main, ["tenant", "theme", tenant.slug, "--none"])
    async with AsyncTestClient(create_app(replace(settings, themes_dir=themes)), base_url=f"http://{tenant.host}") as c:
        assert "Ein Angebot des Landkreises" not in (await c.get("/")).text


async def test_a_theme_folder_removed_later_falls_back_to_the_shipped_look(
    settings: Settings, themes: Path, tenant: TenantFixture
) -> None:
    await asyncio.to_thread(main, ["tenant", "theme", tenant.slug, "other"])
    (themes / "other").rmdir()
    async with AsyncTestClient(create_app(replace(settings, themes_dir=themes)), base_url=f"http://{tenant.host}") as c:
        page = await c.get("/")
        assert page.status_code == 200 and 'href="/privacy"' in page.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["landkreis-ost"], "no theme 'landkreis-ost'"),
        (["../etc"], "no theme '../etc'"),
        ([], "give a theme name, or --none"),
        (["landkreis", "--none"], "give a theme name, or --none"),
    ],
)
def test_theme_refuses_bad_input_clearly(tenant: TenantFixture, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["tenant", "theme", tenant.slug, *args])
    assert message in str(stop.value)


def test_theme_names_an_unknown_town_and_a_missing_themes_folder(
    tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["tenant", "theme", "gibt-es-nicht", "landkreis"])
    assert "no municipality with the slug 'gibt-es-nicht'" in str(stop.value)
    monkeypatch.delenv("RATHAUS_THEMES_DIR")  # the shipped folder, pwa/templates/themes, has no such theme
    with pytest.raises(SystemExit) as stop:
        main(["tenant", "theme", tenant.slug, "landkreis"])
    assert "no theme 'landkreis' in" in str(stop.value)

"""An admin adopts ten standard services with the keyboard and citizens see them at once; later one of them
changes in the standard catalogue, and the admin is shown what changed and takes it over. axe checks the
catalogue and the update page."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from backend.app import create_app
from backend.catalogue.templates import STANDARD_FOLDER, standard_catalogue
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, Problems, check_a11y, serve_in_thread
from tests.factories import TenantFixture

CHOSEN = 10


def _focused(page: Page) -> dict[str, str]:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => ({name: document.activeElement.name || '', value: document.activeElement.value || '',"
        " id: document.activeElement.id || ''})"
    )


def _tab_to(page: Page, wanted: Any, limit: int = 400) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if wanted(focused):
            return focused
    raise AssertionError("the element was never reached with the Tab key")


def test_admin_adopts_ten_services_with_the_keyboard_and_decides_on_an_update(
    e2e_tenant: TenantFixture, open_context: Any, settings: Settings, problems: Problems, tmp_path: Path
) -> None:
    folder = tmp_path / "standard"
    shutil.copytree(STANDARD_FOLDER, folder)
    with serve_in_thread(create_app(dataclasses.replace(settings, catalogue_dir=folder))) as server:
        _, page = open_context("admin", **{**DESKTOP, "locale": "en-GB"})
        page.goto(server.url(e2e_tenant, "/staff/login"))
        page.locator("#email").fill(e2e_tenant.admin_email)
        page.locator("#password").fill(e2e_tenant.password)
        page.locator("form[action='/staff/login'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/staff$"))
        page.goto(server.url(e2e_tenant, "/staff/admin"))
        page.click("a[href='/staff/admin/catalogue']")
        expect(page.locator("h1")).to_have_text("Standard services")
        check_a11y(page, "standard catalogue")

        # Keyboard only: Tab to each of the first ten services' boxes, tick it with Space, then send with Enter.
        chosen: list[str] = []
        page.locator("h1").focus()
        while len(chosen) < CHOSEN:
            box = _tab_to(page, lambda f: f["name"] == "templates" and f["value"] not in chosen)
            page.keyboard.press("Space")
            chosen.append(box["value"])
        _tab_to(page, lambda f: f["id"] == "adopt-many-button")
        page.keyboard.press("Enter")
        expect(page.locator(".notice")).to_contain_text("Citizens can use these services now")
        check_a11y(page, "standard catalogue after adopting")
        for slug in chosen:
            expect(page.locator(f"#template-{slug}")).to_contain_text("Adopted")

        _, phone = open_context("citizen", **PHONE)
        phone.goto(server.url(e2e_tenant, "/"))
        catalogue = standard_catalogue(folder)
        for slug in chosen:
            expect(phone.locator("main")).to_contain_text(catalogue[slug].name["de"])
        check_a11y(phone, "citizen home with the adopted services")

        # The platform changes one template: the admin is offered the update, nothing changes by itself.
        slug = chosen[0]
        source = folder / f"{slug}.toml"
        old_fees = catalogue[slug].fees["en"]
        text = source.read_text("utf-8").replace(f'en = "{old_fees}"', 'en = "12 euros"', 1)
        source.write_text(text, "utf-8")
        page.goto(server.url(e2e_tenant, "/staff/admin/catalogue"))
        card = page.locator(f"#template-{slug}")
        expect(card).to_contain_text("Update available")
        card.locator("a").click()
        expect(page.locator("h1")).to_contain_text("Update of")
        expect(page.locator("main")).to_contain_text("12 euros")
        check_a11y(page, "update page")
        page.click("button[value=accept]")
        expect(page.locator(".notice")).to_contain_text("was taken over")
        expect(page.locator(f"#template-{slug}")).to_contain_text("Adopted")
        phone.goto(server.url(e2e_tenant, f"/s/{slug}"))
        expect(phone.locator("main")).to_contain_text(catalogue[slug].name["de"])

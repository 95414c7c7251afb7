"""On a phone: every target is large enough to tap, a service card opens from anywhere on it, the photo
picker shows what was chosen, and no focus frame is drawn round the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, LiveServer, Screens, check_a11y
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

MIN_TARGET = 44  # CSS px, WCAG 2.5.5


def assert_large_enough(page: Page, selector: str) -> int:
    """Every visible element matching ``selector`` is at least 44×44 CSS px; returns how many were checked."""
    boxes = page.locator(selector).evaluate_all(
        """els => els.filter(e => e.offsetParent !== null).map(e => {
             const r = e.getBoundingClientRect();
             return {html: e.outerHTML.slice(0, 120), width: r.width, height: r.height};
           })"""
    )
    assert boxes, f"nothing visible matches {selector}"
    small = [b for b in boxes if b["width"] < MIN_TARGET or b["height"] < MIN_TARGET]
    assert not small, f"targets smaller than {MIN_TARGET}×{MIN_TARGET} px: {small}"
    return len(boxes)


def test_targets_cards_and_photo_picker_on_a_phone(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    screens: Screens,
    photo: Path,
    small_photo: Path,
) -> None:
    _, page = open_context("citizen", **PHONE)

    page.goto(live_server.url(e2e_tenant, "/"))
    assert_large_enough(page, ".lang-switch a, .lang-switch [aria-current]")
    assert_large_enough(page, ".brand")
    assert_large_enough(page, ".card")
    check_a11y(page, "home")
    screens(page, "home")

    # A tap on the card's empty lower-right corner, far from the title link, opens the service.
    card = page.locator(".card").first
    box = card.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 8, box["y"] + box["height"] - 8)
    expect(page).to_have_url(re.compile(r"/s/street-light$"))
    assert_large_enough(page, ".breadcrumb a")
    assert_large_enough(page, "main .button")
    check_a11y(page, "service page")

    page.goto(live_server.url(e2e_tenant, "/s/street-light/form"))
    assert_large_enough(page, ".picker-button")
    assert_large_enough(page, ".option label")
    assert_large_enough(page, "main button:not([hidden])")
    picker = page.locator(".picker-button")
    assert picker.bounding_box()["width"] > 300, "the picker spans the phone's width"  # type: ignore[index]

    # Choosing photos shows thumbnails at once, made on the device (blob: URLs), before anything is sent.
    page.locator("#photos").set_input_files([photo, small_photo])
    thumbs = page.locator("#photos-previews img")
    expect(thumbs).to_have_count(2)
    assert all(src.startswith("blob:") for src in thumbs.evaluate_all("els => els.map(e => e.src)"))
    page.wait_for_function("() => [...document.querySelectorAll('#photos-previews img')].every(i => i.naturalWidth)")
    expect(page.locator("#photos-chosen")).to_contain_text("2")
    expect(page.locator("#photos-previews")).to_contain_text("laterne.jpg")
    check_a11y(page, "form with chosen photos")
    screens(page, "form-photos")

    # The label opens the native chooser: keyboard focus on the hidden input shows on the big button.
    page.locator("#photos").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = picker.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid", outline

    # Focus moved to <main> by the page (skip link, a swapped-in page) draws no frame round it.
    page.locator("main").focus()
    frame = page.locator("main").evaluate(
        "m => [document.activeElement === m, getComputedStyle(m).boxShadow, getComputedStyle(m).outlineStyle]"
    )
    assert frame == [True, "none", "none"], frame
    page.keyboard.press("Tab")
    frame = page.locator("main").evaluate("m => getComputedStyle(m).boxShadow")
    assert frame == "none", frame


def test_position_map_link_and_withdraw_confirmation_on_a_phone(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, screens: Screens
) -> None:
    _, page = open_context(
        "citizen", **PHONE, geolocation={"latitude": 52.52, "longitude": 13.405}, permissions=["geolocation"]
    )
    page.goto(live_server.url(e2e_tenant, "/s/street-light/form"))
    page.locator("[data-role=locate]").click()
    expect(page.locator("[data-role=lat]")).to_have_value(re.compile(r"^52\.52"))
    page.locator("#what").fill("Die Laterne ist dunkel.")
    page.locator("button[name=action][value=review]").click()
    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))

    expect(page.locator(".coords")).to_contain_text("52,52° N, 13,405° O")
    link = page.locator("a.map-link")
    expect(link).to_have_attribute("href", "https://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=18/52.52/13.405")
    assert link.get_attribute("target") is None, "opens as a normal link"
    assert_large_enough(page, "a.map-link")
    assert_large_enough(page, ".withdraw .button")
    check_a11y(page, "tracking page")
    screens(page, "tracking")

    page.locator(".withdraw .button").click()
    expect(page).to_have_url(re.compile(r"/r/[^/]+/withdraw$"))
    assert_large_enough(page, ".withdraw-confirm .button")
    check_a11y(page, "withdraw confirmation")
    screens(page, "withdraw")
    page.locator("#reason").fill("Hat sich erledigt")
    page.locator(".withdraw-confirm button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+$"))
    expect(page.locator(".status-label")).to_have_text(re.compile(r"Zurückgezogen|Withdrawn"))
    expect(page.locator("[data-push]")).to_have_count(0)
    check_a11y(page, "withdrawn request")

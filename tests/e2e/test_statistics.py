"""A supervisor in the browser: the statistics page (light, accessible, charts beside their tables), then a
saved view of the inbox, opened again from its link; axe on both pages."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Request, expect

from backend.settings import Settings
from tests.e2e.conftest import CHROMIUM_ARGS, DESKTOP, PHONE, TIMEOUT_MS, LiveServer, Screens, check_a11y, run_async
from tests.factories import PASSWORD, TenantFixture
from tests.integration.inbox.test_statistics import SPECS, _second_service, add_supervisor, make_cases

pytestmark = pytest.mark.browser

# What the statistics page's first visit may transfer (compressed bodies and headers of every response).
PAGE_BUDGET = 30 * 1024
# Fetched once by the service worker's installation in the background, not by the page.
WORKER_INSTALL = {"/sw.js", "/static/js/outbox.js", "/offline"}

assert CHROMIUM_ARGS  # the browser fixture launches with them


async def _municipality(settings: Settings, tenant: TenantFixture) -> str:
    await _second_service(settings, tenant)
    await make_cases(settings, tenant, SPECS, datetime.datetime.now(datetime.UTC))
    return await add_supervisor(settings, tenant)


def _log_in(page: Any, live_server: LiveServer, tenant: TenantFixture, email: str) -> None:
    page.goto(live_server.url(tenant, "/staff/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def test_supervisor_reads_the_statistics_and_saves_a_view_of_the_inbox(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    settings: Settings,
    open_context: Any,
    browser: Browser,
    screens: Screens,
) -> None:
    email = run_async(_municipality(settings, e2e_tenant))
    context, desk = open_context("supervisor", **DESKTOP)
    _log_in(desk, live_server, e2e_tenant, email)

    # The page's first visit, with an empty cache (only the login cookie carried over), weighed.
    fresh = browser.new_context(storage_state=context.storage_state(), **DESKTOP)
    try:
        fresh.set_default_timeout(TIMEOUT_MS)
        first = fresh.new_page()
        finished: list[Request] = []
        first.on("requestfinished", lambda request: finished.append(request))
        first.goto(live_server.url(e2e_tenant, "/staff/statistics"))
        first.wait_for_load_state("networkidle")
        weights = {}
        for request in finished:
            path = re.sub(r"^https?://[^/]+", "", request.url).split("?")[0]
            if path in WORKER_INSTALL:
                continue
            sizes = request.sizes()
            weights[path] = weights.get(path, 0) + sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total = sum(weights.values())
        print(f"statistics page, first visit: {total} bytes: {weights}")
        assert "/staff/statistics" in weights and not any("htmx" in p for p in weights), weights
        assert total <= PAGE_BUDGET, weights
    finally:
        fresh.close()

    desk.locator(".staff-nav a", has_text="Statistik").click()
    expect(desk).to_have_url(re.compile(r"/staff/statistics$"))
    expect(desk.locator("h1")).to_have_text("Statistik")
    charts = desk.locator("svg.chart[role=img]")
    expect(charts).to_have_count(5)
    for n in range(5):
        chart = charts.nth(n)
        labelled = (chart.get_attribute("aria-labelledby") or "").split()
        assert len(labelled) == 2 and desk.locator(f"#{labelled[0]}").count() == 1, labelled
        assert chart.bounding_box()["height"] > 40  # type: ignore[index]
    expect(desk.locator("table.stats caption")).to_have_count(5)
    expect(desk.locator("text=6 offene Anliegen")).to_be_visible()
    # Bars keep 3:1 against the page (WCAG 1.4.11): the bar colour as the browser draws it.
    colours = desk.evaluate(
        """() => [...document.querySelectorAll('.chart-bar, .chart-bar-alt')].map(el => getComputedStyle(el).fill)"""
    )
    assert colours and all(_contrast(c, "rgb(255, 255, 255)") >= 3 for c in set(colours)), set(colours)
    screens(desk, "statistics")
    check_a11y(desk, "statistics page")

    # A view of the inbox: filter, name it, save it, and find it again.
    desk.locator(".staff-nav a", has_text="Posteingang").click()
    desk.locator("#status").select_option("submitted")
    expect(desk).to_have_url(re.compile(r"status=submitted"))
    expect(desk.locator("table.inbox tbody tr")).to_have_count(2)
    desk.locator("#view-name").fill("Neue Meldungen")
    desk.get_by_role("button", name="Diese Ansicht speichern").click()
    expect(desk.locator(".notice[role=status]")).to_contain_text("Die Ansicht wurde gespeichert.")
    link = desk.locator(".saved-views a", has_text="Neue Meldungen")
    expect(link).to_have_attribute("aria-current", "page")
    screens(desk, "inbox-with-a-saved-view")
    check_a11y(desk, "inbox with a saved view")

    desk.goto(live_server.url(e2e_tenant, "/staff"))
    expect(desk.locator("table.inbox tbody tr")).to_have_count(15)
    desk.locator(".saved-views a", has_text="Neue Meldungen").click()
    expect(desk).to_have_url(re.compile(r"/staff\?status=submitted$"))
    expect(desk.locator("#status")).to_have_value("submitted")
    expect(desk.locator("table.inbox tbody tr")).to_have_count(2)
    href = desk.locator(".list-tools a", has_text="Als CSV exportieren").get_attribute("href")
    assert href == "/staff/inbox.csv?status=submitted"
    check_a11y(desk, "inbox opened from a saved view")


def test_statistics_on_a_phone_without_sideways_scrolling(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any, screens: Screens
) -> None:
    email = run_async(_municipality(settings, e2e_tenant))
    _, phone = open_context("supervisor-phone", **PHONE)
    _log_in(phone, live_server, e2e_tenant, email)
    phone.goto(live_server.url(e2e_tenant, "/staff/statistics"))
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    # Every chart text stays inside its chart.
    outside = phone.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')].filter(t => {
            const box = t.getBoundingClientRect(), chart = t.ownerSVGElement.getBoundingClientRect();
            return box.right > chart.right + 1 || box.left < chart.left - 1;
        }).map(t => t.textContent)"""
    )
    assert outside == [], outside
    screens(phone, "statistics-on-a-phone")
    check_a11y(phone, "statistics on a phone")


def _contrast(css: str, against: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(css), luminance(against)), reverse=True)
    return (light + 0.05) / (dark + 0.05)

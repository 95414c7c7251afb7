"""A citizen reports a broken street light on a phone; a clerk handles it; the citizen follows it.

Every page the journey visits is checked with axe-core (WCAG 2.0/2.1 A and AA). The texts the tests
look for are the municipality's own (service names, form labels), ids and names of form fields, or,
for texts the app translates, both the German and the English wording, so the tests pass before and
after the German catalogue is compiled.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import DESKTOP, PHONE, TIMEOUT_MS, LiveServer, Screens, check_a11y
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"^\d{4}-\d{5}$")
TRACKING_PATH = re.compile(r"^/r/[A-Za-z0-9_-]{16,}$")
IN_PROGRESS = re.compile(r"^\s*(In Bearbeitung|In progress)\s*$")

ADDRESS = "Hauptstraße 12"
PLACE = "vor der Bäckerei, gegenüber dem Spielplatz"
WHAT = "Die Laterne leuchtet seit drei Tagen nicht mehr."
PUBLIC_MESSAGE = "Danke! Der Elektriker kommt am Donnerstag."
INTERNAL_NOTE = "Intern: Auftrag an Firma Lichtblick, Ticket 4711."


def tracking_path(page: Page) -> str:
    link = page.locator(".confirmation .tracking-link a")
    href = link.get_attribute("href") or ""
    assert TRACKING_PATH.match(href), href
    return href


def expect_photo_loaded(page: Page, scope: str) -> dict[str, Any]:
    """The first photo under ``scope`` is visible and its image really loaded; returns its sizes."""
    img = page.locator(f"{scope} img").first
    expect(img).to_be_visible()
    img.scroll_into_view_if_needed()
    # Polled from here: on a page without JavaScript the page's own timers do not run, so wait_for_function
    # checks once and never again, and an image still loading at that moment was never seen to finish.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not img.evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, f"the photo under {scope!r} did not load"
        page.wait_for_timeout(100)
    return img.evaluate(
        "img => ({natural: img.naturalWidth, width: img.getAttribute('width'), alt: img.getAttribute('alt')})"
    )


def test_citizen_reports_on_a_phone_and_clerk_handles_it(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    screens: Screens,
    photo: Path,
) -> None:
    _, page = open_context("citizen", **PHONE)

    # The municipality's home page; the search narrows the list as the citizen types, without a reload.
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator("h1")).to_be_visible()
    expect(page).to_have_title(re.compile(re.escape(e2e_tenant.name)))
    check_a11y(page, "home")
    screens(page, "home")
    page.evaluate("() => { window.__samePage = true; }")
    search = page.locator("#q")
    search.press_sequentially("Müllabfuhr", delay=30)
    expect(page.locator("#service-list a[href='/s/street-light']")).to_have_count(0)
    expect(page.locator("#service-list")).to_contain_text("Müllabfuhr")
    search.fill("")
    search.press_sequentially("Laterne", delay=30)
    expect(page.locator("#service-list .result-count")).to_contain_text("Laterne")
    result = page.locator("#service-list a[href='/s/street-light']")
    expect(result).to_have_text("Straßenlaterne defekt")
    assert page.evaluate("() => window.__samePage === true"), "the search reloaded the page instead of updating it"
    expect(page).to_have_url(re.compile(r"[?&]q=Laterne"))
    check_a11y(page, "home with search results")
    screens(page, "search")

    # The service page, then the form.
    result.click()
    expect(page).to_have_url(re.compile(r"/s/street-light$"))
    expect(page.locator("h1")).to_have_text("Straßenlaterne defekt")
    check_a11y(page, "service page")
    page.locator("a[href='/s/street-light/form']").click()
    expect(page).to_have_url(re.compile(r"/s/street-light/form$"))
    key = page.locator("input[name=idempotency_key]")
    expect(key).to_have_value(re.compile(r".{16,}"))  # made on the device by app.js
    check_a11y(page, "empty form")
    screens(page, "form-empty")

    page.locator("#where__address").fill(ADDRESS)
    page.locator("#where__description").fill(PLACE)
    page.locator("#what").fill(WHAT)
    page.get_by_label("Flackert").check()
    page.locator("#photos").set_input_files(photo)
    check_a11y(page, "filled form")
    screens(page, "form-filled")

    # The photo is scaled down on the device and sent with a progress bar; the review page is swapped in.
    page.evaluate(
        """() => {
          const box = document.querySelector('[data-upload-progress]');
          window.__progressShown = false;
          new MutationObserver(() => { if (!box.hidden) window.__progressShown = true; })
            .observe(box, {attributes: true, attributeFilter: ['hidden']});
          window.__uploaded = [];
          const send = XMLHttpRequest.prototype.send;
          XMLHttpRequest.prototype.send = function (body) {
            if (body instanceof FormData) {
              for (const [name, value] of body.entries()) {
                if (!(value instanceof File)) continue;
                window.__uploaded.push({name, file: value.name, size: value.size, type: value.type});
              }
            }
            return send.call(this, body);
          };
        }"""
    )
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/s/street-light/form")):
        page.locator("button[name=action][value=review]").click()
    submit_form = page.locator("form[action='/s/street-light/submit']")
    expect(submit_form).to_be_visible()
    uploaded = page.evaluate("() => window.__uploaded")
    assert len(uploaded) == 1 and uploaded[0]["name"] == "photos", uploaded
    assert uploaded[0]["type"] == "image/jpeg" and uploaded[0]["file"] == "laterne.jpg", uploaded
    assert 0 < uploaded[0]["size"] < photo.stat().st_size / 2, (uploaded, photo.stat().st_size)
    assert page.evaluate("() => window.__progressShown"), "the upload progress was never shown"
    assert page.evaluate("() => document.activeElement && document.activeElement.tagName") == "H1", (
        "after the review page is swapped in, focus should be on its heading"
    )
    review = page.locator("dl.answers")
    expect(review).to_contain_text(ADDRESS)
    expect(review).to_contain_text(PLACE)
    expect(review).to_contain_text(WHAT)
    expect(review).to_contain_text("Flackert")
    shown = expect_photo_loaded(page, "dl.answers .photos")
    # 3000×2000 went in; the device scaled it to at most 2048 px before the upload.
    assert shown["width"] == "2048" and shown["natural"] == 2048, shown
    assert shown["alt"], "the photo on the review page needs a text alternative"
    check_a11y(page, "review")
    screens(page, "review")

    # Send: the tracking page confirms with the reference number and the private link.
    submit_form.locator("button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    confirmation = page.locator(".confirmation")
    expect(confirmation).to_be_visible()
    reference = (confirmation.locator(".reference").text_content() or "").strip()
    assert REFERENCE.match(reference), reference
    track = tracking_path(page)
    assert page.url.split("?")[0].endswith(track)
    expect_photo_loaded(page, "dl.answers .photos")
    check_a11y(page, "tracking page (new)")
    screens(page, "confirmation")

    # The clerk, at a desk.
    _, desk = open_context("clerk", **DESKTOP)
    desk.goto(live_server.url(e2e_tenant, "/staff/login"))
    check_a11y(desk, "staff login")
    desk.locator("#email").fill(e2e_tenant.clerk_email)
    desk.locator("#password").fill(e2e_tenant.password)
    desk.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(desk).to_have_url(re.compile(r"/staff/?$"))
    row_link = desk.locator("table.inbox a", has_text=reference)
    expect(row_link).to_be_visible()
    check_a11y(desk, "inbox")
    screens(desk, "inbox")

    row_link.click()
    expect(desk).to_have_url(re.compile(r"/staff/cases/[0-9a-f-]{36}"))
    expect(desk.locator("h1")).to_contain_text(reference)
    expect(desk.locator("dl.answers")).to_contain_text(WHAT)
    expect_photo_loaded(desk, "dl.answers .photos")
    check_a11y(desk, "case page")

    status_form = desk.locator("form[action$='/status']")
    status_form.locator("select[name=to_status]").select_option("in_review")
    status_form.locator("button[type=submit]").click()
    expect(desk.locator(".notice")).to_be_visible()
    expect(desk.locator("select[name=to_status] option[value=in_progress]")).to_have_count(1)
    check_a11y(desk, "case page after 'in review'")

    status_form.locator("select[name=to_status]").select_option("in_progress")
    status_form.locator("textarea[name=message]").fill(PUBLIC_MESSAGE)
    status_form.locator("button[type=submit]").click()
    expect(desk.locator(".notice")).to_be_visible()
    expect(desk.locator(".timeline")).to_contain_text(PUBLIC_MESSAGE)
    check_a11y(desk, "case page after 'in progress'")

    note_form = desk.locator("form[action$='/messages']")
    note_form.locator("input[name=visibility][value=internal]").check()
    note_form.locator("textarea[name=body]").fill(INTERNAL_NOTE)
    note_form.locator("button[type=submit]").click()
    expect(desk.locator(".timeline li.internal")).to_contain_text(INTERNAL_NOTE)
    check_a11y(desk, "case page with internal note")
    screens(desk, "case")

    # Back on the phone: the new status and the message, but not the internal note.
    page.reload()
    expect(page.locator(".status-label")).to_have_text(IN_PROGRESS)
    expect(page.locator(".timeline")).to_contain_text(PUBLIC_MESSAGE)
    expect(page.locator("main")).not_to_contain_text(INTERNAL_NOTE)
    assert INTERNAL_NOTE not in page.content()
    check_a11y(page, "tracking page after the clerk's changes")
    screens(page, "tracking-updated")

    # The private link alone (as bookmarked) shows the same, without the confirmation box.
    page.goto(live_server.url(e2e_tenant, track))
    expect(page.locator(".confirmation")).to_have_count(0)
    expect(page.locator(".status-label")).to_have_text(IN_PROGRESS)
    assert INTERNAL_NOTE not in page.content()
    check_a11y(page, "tracking page")


def replay_without_scripts(open_context: Any, url: str, html: str, label: str) -> None:
    """axe needs JavaScript, so a page rendered for a browser without it is checked by replaying
    the exact same HTML at the same URL in a JavaScript context whose own scripts are blocked
    (axe itself is injected by the DevTools protocol, not fetched)."""
    _, page = open_context(f"axe replay of {label}", **PHONE)

    def serve(route: Route) -> None:
        if route.request.url == url:
            route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
        elif route.request.resource_type == "script":
            route.abort()
        else:
            route.continue_()

    page.route("**/*", serve)
    page.goto(url)
    check_a11y(page, f"{label} (as rendered without JavaScript)")
    page.close()


def test_form_works_without_javascript(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    screens: Screens,
    small_photo: Path,
) -> None:
    # axe cannot run in a page without JavaScript: the pages are checked by replay_without_scripts.
    _, page = open_context("citizen without JavaScript", **{**PHONE, "java_script_enabled": False})
    form_url = live_server.url(e2e_tenant, "/s/street-light/form")
    page.goto(form_url)
    expect(page.locator("input[name=idempotency_key]")).to_have_value("")  # no device key without JS
    replay_without_scripts(open_context, form_url, page.content(), "empty form")

    # "What is broken?" is required and left empty; a photo is attached.
    page.locator("#where__address").fill(ADDRESS)
    page.get_by_label("Leuchtet nicht").check()
    page.locator("#photos").set_input_files(small_photo)
    page.locator("button[name=action][value=review]").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    screens(page, "nojs-error")
    expect(summary.locator("a[href='#what']")).to_be_visible()
    expect(summary.locator("a")).to_have_count(1)
    # At the top: right after the heading, before the form, and in the first screenful.
    assert page.evaluate(
        "() => document.querySelector('h1').nextElementSibling === document.getElementById('error-summary')"
    ), "the error summary should come right after the page heading"
    box = summary.bounding_box()
    assert box is not None and box["y"] < 844, box
    expect(page.locator("#what")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#what-error")).to_be_visible()
    # What the citizen typed and the photo are kept.
    expect(page.locator("#where__address")).to_have_value(ADDRESS)
    expect(page.get_by_label("Leuchtet nicht")).to_be_checked()
    keep = page.locator("input[name=photos__keep]")
    expect(keep).to_have_count(1)
    expect(keep).to_be_checked()
    expect_photo_loaded(page, ".kept-files")
    replay_without_scripts(open_context, page.url, page.content(), "form with an error")

    page.locator("#what").fill(WHAT)
    page.locator("button[name=action][value=review]").click()
    submit_form = page.locator("form[action='/s/street-light/submit']")
    expect(submit_form).to_be_visible()
    expect(page.locator("dl.answers")).to_contain_text(WHAT)
    expect_photo_loaded(page, "dl.answers .photos")
    expect(submit_form.locator("input[name=photos__keep]")).to_have_count(1)
    screens(page, "nojs-review")
    replay_without_scripts(open_context, page.url, page.content(), "review")

    submit_form.locator("button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    reference = (page.locator(".confirmation .reference").text_content() or "").strip()
    assert REFERENCE.match(reference), reference
    tracking_path(page)
    expect_photo_loaded(page, "dl.answers .photos")
    screens(page, "nojs-confirmation")
    replay_without_scripts(open_context, page.url, page.content(), "tracking page")


def test_review_page_keeps_the_photo_on_reload_and_language_switch_and_back_after_sending_says_sent(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    small_photo: Path,
) -> None:
    _, page = open_context("citizen who reloads", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/s/street-light/form"))
    page.locator("#where__address").fill(ADDRESS)
    page.locator("#what").fill(WHAT)
    page.locator("#photos").set_input_files(small_photo)
    page.locator("button[name=action][value=review]").click()
    expect(page).to_have_url(re.compile(r"/s/street-light/review/[A-Za-z0-9_-]{16,}$"))
    review_url = page.url
    expect_photo_loaded(page, "dl.answers .photos")

    # Back shows the form with the kept draft, photo included; forward shows the review again.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/s/street-light/form\?draft="))
    expect(page.locator("#where__address")).to_have_value(ADDRESS)
    expect(page.locator("input[name=photos__keep]")).to_be_checked()
    page.go_forward()
    expect(page.locator("h1")).to_have_text("Ihr Anliegen prüfen")
    expect(page).to_have_url(review_url)

    page.reload()
    expect(page).to_have_url(review_url)
    expect(page.locator("dl.answers")).to_contain_text(WHAT)
    expect_photo_loaded(page, "dl.answers .photos")

    page.locator("nav.lang-switch a[hreflang=en]").click()
    expect(page).to_have_url(review_url)
    expect(page.locator("h1")).to_have_text("Check your request")
    expect(page.locator("dl.answers")).to_contain_text(ADDRESS)
    expect_photo_loaded(page, "dl.answers .photos")
    check_a11y(page, "review after the language switch")

    # "Change answers" reopens the kept draft, photo included; the review comes back with it.
    page.locator("a", has_text="Change answers").click()
    expect(page).to_have_url(re.compile(r"/s/street-light/form\?draft="))
    expect(page.locator("#where__address")).to_have_value(ADDRESS)
    expect(page.locator("input[name=photos__keep]")).to_be_checked()
    expect(page.locator("[data-draft-notice]")).to_be_hidden()
    page.locator("button[name=action][value=review]").click()
    expect(page).to_have_url(review_url)
    expect_photo_loaded(page, "dl.answers .photos")

    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    track = tracking_path(page)

    # Back after sending: the review's address says it was sent and leads to the request.
    page.go_back()
    expect(page).to_have_url(review_url)
    expect(page.locator("h1")).to_have_text("Your request was sent")
    expect(page.locator(f".confirmation a[href='{track}']")).to_be_visible()
    expect(page.locator("form[action='/s/street-light/submit']")).to_have_count(0)
    check_a11y(page, "review address after sending")


def test_error_summary_takes_focus_and_links_to_the_fields(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    screens: Screens,
) -> None:
    _, page = open_context("keyboard user", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/s/street-light/form"))
    check_a11y(page, "empty form")

    # Send the empty form with the keyboard: focus the button, press Enter.
    page.locator("button[name=action][value=review]").focus()
    page.keyboard.press("Enter")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    check_a11y(page, "form with errors")
    screens(page, "errors")

    links = summary.locator("a")
    expect(links).to_have_count(2)  # the place and "what is broken?"; the rest is optional
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert targets == ["#where__address", "#what"], targets
    for target in targets:
        assert target
        expect(page.locator(target)).to_have_count(1)
        expect(page.locator(target)).to_be_editable()

    # Tab from the summary reaches its first link; Enter moves the focus to the field.
    page.keyboard.press("Tab")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#where__address")).to_be_focused()

    summary.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    what = page.locator("#what")
    expect(what).to_be_focused()
    expect(what).to_have_attribute("aria-invalid", "true")
    described = (what.get_attribute("aria-describedby") or "").split()
    assert "what-error" in described, described
    expect(page.locator("#what-error")).to_be_visible()

    # Fixing the answers with the keyboard alone gets to the review page.
    page.keyboard.type(WHAT)
    page.locator("#where__address").focus()
    page.keyboard.type(ADDRESS)
    page.locator("button[name=action][value=review]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("form[action='/s/street-light/submit']")).to_be_visible()
    expect(page.locator("#error-summary")).to_have_count(0)
    check_a11y(page, "review after fixing the errors")


def test_search_and_photo_upload_work_under_the_apps_own_csp(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    photo: Path,
) -> None:
    """The other tests bypass the Content-Security-Policy so that axe can be injected; this one keeps it,
    and fails on any violation, so htmx and app.js are known to work under the policy real users get."""
    context, page = open_context("citizen under CSP", **{**PHONE, "bypass_csp": False})
    violations: list[str] = []
    context.add_init_script(
        """document.addEventListener('securitypolicyviolation', e => {
             (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI);
           });"""
    )
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(live_server.url(e2e_tenant, "/"))
    page.locator("#q").press_sequentially("Laterne", delay=30)
    expect(page.locator("#service-list .result-count")).to_contain_text("Laterne")
    page.locator("#service-list a[href='/s/street-light']").click()
    page.locator("a[href='/s/street-light/form']").click()
    expect(page.locator("input[name=idempotency_key]")).to_have_value(re.compile(r".{16,}"))
    page.locator("#where__address").fill(ADDRESS)
    page.locator("#what").fill(WHAT)
    page.locator("#photos").set_input_files(photo)
    page.locator("button[name=action][value=review]").click()
    expect(page.locator("form[action='/s/street-light/submit']")).to_be_visible()
    assert expect_photo_loaded(page, "dl.answers .photos")["width"] == "2048"
    violations += page.evaluate("() => window.__csp || []")
    assert not violations, violations

"""An admin uploads a logo and sets colours (the phone preview follows before saving); a citizen on a phone
then sees the logo in the header and installs icons drawn from it. axe checks the new administration pages,
also with their error messages."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y
from tests.factories import TenantFixture

LOGO_COLOUR = (250, 200, 0)
PRIMARY = "#0b6e4f"
FETCH_BASE64 = """async (src) => {
  const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""


def _logo(path: Path) -> Path:
    img = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    img.paste((*LOGO_COLOUR, 255), (100, 100, 500, 500))
    img.save(path, format="PNG")
    return path


def test_admin_uploads_a_logo_and_the_citizen_sees_it_and_its_icons(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems, tmp_path: Path
) -> None:
    _, desk = open_context("admin", **{**DESKTOP, "locale": "en-GB"})
    desk.goto(live_server.url(e2e_tenant, "/staff/login"))
    desk.locator("#email").fill(e2e_tenant.admin_email)
    desk.locator("#password").fill(e2e_tenant.password)
    desk.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(desk).to_have_url(re.compile(r"/staff/?$"))
    desk.goto(live_server.url(e2e_tenant, "/staff/admin"))
    for href in ("/staff/admin/branding", "/staff/admin/languages", "/staff/admin/hosts"):
        expect(desk.locator(f"main a[href='{href}']")).to_be_visible()

    # Branding: the preview follows the form before anything is saved.
    desk.click("a[href='/staff/admin/branding']")
    expect(desk.locator("#phone-preview")).to_be_visible()
    check_a11y(desk, "branding")
    desk.fill("#name_text", "Stadt Logohafen")
    desk.fill("#short_name", "Logohafen")
    desk.fill("#primary_color_text", PRIMARY)
    desk.set_input_files("#logo", str(_logo(tmp_path / "logo.png")))
    expect(desk.locator("#preview-name")).to_have_text("Stadt Logohafen")
    expect(desk.locator("#preview-short-name")).to_have_text("Logohafen")
    expect(desk.locator("#preview-logo")).to_be_visible()
    header_bg = desk.evaluate("() => getComputedStyle(document.querySelector('.phone-header')).backgroundColor")
    assert header_bg == "rgb(11, 110, 79)"
    desk.click("#branding-form button[type=submit]")
    expect(desk.locator(".notice")).to_be_visible()
    expect(desk.locator("#preview-logo")).to_have_attribute("src", re.compile(r"^/logo\?v=[0-9a-f]+$"))
    check_a11y(desk, "branding saved, with a logo")

    # A refused SVG names the reason, tied to the field.
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    desk.set_input_files("#logo", str(svg))
    desk.click("#branding-form button[type=submit]")
    expect(desk.locator("#logo-error")).to_contain_text("SVG")
    check_a11y(desk, "branding with a refused logo")
    problems.items.remove("admin: POST /staff/admin/branding answered 422")

    # Languages and host names, with and without errors.
    desk.goto(live_server.url(e2e_tenant, "/staff/admin/languages"))
    check_a11y(desk, "languages")
    desk.uncheck("#language-de")
    desk.uncheck("#language-en")
    desk.click("main form button[type=submit]")
    expect(desk.locator("#languages-error")).to_be_visible()
    check_a11y(desk, "languages with an error")
    problems.items.remove("admin: POST /staff/admin/languages answered 422")
    desk.goto(live_server.url(e2e_tenant, "/staff/admin/hosts"))
    check_a11y(desk, "host names")
    desk.fill("#host", "https://not a host/")
    desk.click("form[action='/staff/admin/hosts'] button[type=submit]")
    expect(desk.locator("#host-error")).to_be_visible()
    check_a11y(desk, "host names with an error")
    problems.items.remove("admin: POST /staff/admin/hosts answered 422")
    desk.fill("#host", f"rathaus.{e2e_tenant.slug}.example")
    desk.click("form[action='/staff/admin/hosts'] button[type=submit]")
    expect(desk.locator(".notice")).to_be_visible()
    check_a11y(desk, "host names with an own domain")

    # The citizen's phone: the logo in the header, the manifest and its icons drawn from it.
    _, phone = open_context("citizen", **PHONE)
    phone.goto(live_server.url(e2e_tenant, "/"))
    logo = phone.locator("header img.brand-logo")
    expect(logo).to_be_visible()
    expect(logo).to_have_attribute("alt", "Stadt Logohafen")
    assert phone.evaluate("() => document.querySelector('header img.brand-logo').naturalWidth") > 0
    check_a11y(phone, "citizen home with the logo")
    # Fetched by the page itself, as the browser's installer does (and through the service worker, if any).
    manifest = phone.evaluate("async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()")
    assert manifest["short_name"] == "Logohafen" and manifest["theme_color"] == PRIMARY
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}
    for entry in manifest["icons"]:
        body = base64.b64decode(phone.evaluate(FETCH_BASE64, entry["src"]))
        img = Image.open(io.BytesIO(body)).convert("RGB")
        assert img.getpixel((img.width // 2, img.height // 2)) == LOGO_COLOUR, entry
        assert img.getpixel((1, 1)) == (0x0B, 0x6E, 0x4F), entry

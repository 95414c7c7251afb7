"""Branding: an admin saves the name and readable colours; citizens see them at once in the page, theme,
manifest and icons; unreadable colours are refused with the reason; only admins of this town may."""

from __future__ import annotations

import io
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image, PngImagePlugin

from tests.conftest import csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import Client, login

PAGE = "/staff/admin/branding"


async def _save(client: Client, **fields: str):  # type: ignore[no-untyped-def]
    page = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    return await client.post(
        PAGE,
        data={"_csrf_token": csrf_token(page.text), **fields},
        headers={"Accept-Language": "en"},
        follow_redirects=False,
    )


def _theme_link(html: str) -> str:
    match = re.search(r"/theme\.css\?v=[0-9a-f]+", html)
    assert match
    return match.group(0)


async def test_saving_the_branding_changes_the_home_page_theme_manifest_and_icons(
    client: Client, tenant: TenantFixture
) -> None:
    before_home = (await client.get("/")).text
    before_manifest = (await client.get("/manifest.webmanifest")).json()
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    saved = await _save(
        client,
        name="Stadt Neuhafen",
        primary_color="#000000",
        primary_color_text="#0b6e4f",
        accent_color="#005a9c",
        accent_color_text=tenant_accent_placeholder(),
    )
    assert saved.status_code == 303, saved.text
    home = (await client.get("/")).text
    assert "Stadt Neuhafen" in home and _theme_link(home) != _theme_link(before_home)
    assert "0b6e4f" in _theme_link(home)
    theme = await client.get(_theme_link(home))
    assert "#0b6e4f" in theme.text
    manifest = (await client.get("/manifest.webmanifest")).json()
    assert manifest["theme_color"] == "#0b6e4f" and manifest["name"] != before_manifest["name"]
    assert [i["src"] for i in manifest["icons"]] != [i["src"] for i in before_manifest["icons"]]


def tenant_accent_placeholder() -> str:
    # The text field still shows the saved accent: the picker's new value is the change.
    return "#b3261e"


async def test_unreadable_colours_are_refused_and_nothing_is_saved(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _save(
        client,
        name="Stadt Gelb",
        primary_color="#ffff00",
        primary_color_text="#ffff00",
        accent_color="#ffcc00",
        accent_color_text="#ffcc00",
    )
    assert refused.status_code == 422
    assert "4.5:1" in refused.text and "3:1" in refused.text and 'aria-invalid="true"' in refused.text
    assert "Stadt Gelb" not in (await client.get("/")).text


async def test_a_colour_that_is_not_a_colour_is_refused(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _save(client, name="X", primary_color="#1d4f91", primary_color_text="navy", accent_color="#b3261e")
    assert refused.status_code == 422 and "#rrggbb" in refused.text


async def test_a_clerk_cannot_open_or_save_the_branding(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert (await client.get(PAGE, follow_redirects=False)).status_code == 403
    token = csrf_token((await client.get("/staff")).text)
    answer = await client.post(
        PAGE,
        data={"_csrf_token": token, "name": "Übernommen", "primary_color": "#000000", "accent_color": "#000000"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "Übernommen" not in (await client.get("/")).text


# --- short name and logo ------------------------------------------------------------------------------

COLOURS = {
    "primary_color": "#0b6e4f",
    "primary_color_text": "#0b6e4f",
    "accent_color": "#005a9c",
    "accent_color_text": "#005a9c",
}


def _png(size: tuple[int, int] = (400, 400), color: tuple[int, int, int, int] = (250, 200, 0, 255)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGBA", size, color)
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-metadata-author")
    img.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


async def _upload(client: Client, logo: tuple[str, bytes, str] | None, **fields: str):  # type: ignore[no-untyped-def]
    page = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    return await client.post(
        PAGE,
        data={"_csrf_token": csrf_token(page.text), **fields},
        files={"logo": logo} if logo else None,
        headers={"Accept-Language": "en"},
        follow_redirects=False,
    )


def _icon_srcs(manifest: dict) -> list[str]:  # type: ignore[type-arg]
    return [i["src"] for i in manifest["icons"]]


async def test_an_uploaded_logo_shows_in_the_header_and_draws_every_icon_on_the_primary_colour(
    client: Client, tenant: TenantFixture
) -> None:
    before = (await client.get("/manifest.webmanifest")).json()
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    saved = await _upload(
        client, ("logo.png", _png(), "image/png"), name="Stadt Logohausen", short_name="Logohausen", **COLOURS
    )
    assert saved.status_code == 303, saved.text

    home = (await client.get("/", headers={"Accept-Language": "en"})).text
    logo_src = re.search(r'<img class="brand-logo" src="(/logo\?v=[0-9a-f]+)" alt="Stadt Logohausen">', home)
    assert logo_src, home
    logo = await client.get(logo_src.group(1).replace("&amp;", "&"))
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert b"secret-metadata-author" not in logo.content  # re-encoded: no metadata comes along
    assert "max-age=86400" in logo.headers["cache-control"]

    manifest = (await client.get("/manifest.webmanifest")).json()
    assert manifest["name"] == "Stadt Logohausen" and manifest["short_name"] == "Logohausen"
    assert manifest["theme_color"] == "#0b6e4f"
    assert set(_icon_srcs(manifest)).isdisjoint(_icon_srcs(before))
    for entry in manifest["icons"]:
        icon = await client.get(entry["src"])
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(icon.content)).convert("RGB")
        size = img.width
        assert img.getpixel((size // 2, size // 2)) == (250, 200, 0), entry  # the logo in the middle
        assert img.getpixel((2, 2)) == (0x0B, 0x6E, 0x4F), entry  # on the primary colour
        if entry["purpose"] == "maskable":  # the logo stays inside the safe zone (the inner 80 % circle)
            assert img.getpixel((int(size * 0.15), size // 2)) == (0x0B, 0x6E, 0x4F)

    # A new logo gives new icon URLs again, so installed apps and the service worker fetch the new icons.
    again = await _upload(
        client, ("logo.jpg", jpeg_bytes((300, 300), (10, 10, 200)), "image/jpeg"), name="Stadt Logohausen", **COLOURS
    )
    assert again.status_code == 303
    newer = (await client.get("/manifest.webmanifest")).json()
    assert set(_icon_srcs(newer)).isdisjoint(_icon_srcs(manifest))
    assert newer["short_name"] == "Logohausen"  # no short name given: derived from the name again


async def test_saving_without_a_new_file_keeps_the_logo_and_remove_logo_takes_it_away(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (
        await _upload(client, ("logo.png", _png(), "image/png"), name="Stadt Behalten", **COLOURS)
    ).status_code == 303
    with_logo = (await client.get("/manifest.webmanifest")).json()
    assert (await _upload(client, None, name="Stadt Behalten", **COLOURS)).status_code == 303
    assert 'class="brand-logo"' in (await client.get("/")).text

    page = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert "/staff/admin/branding/remove-logo" in page.text
    removed = await client.post(
        f"{PAGE}/remove-logo", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
    )
    assert removed.status_code == 303
    home = (await client.get("/")).text
    assert 'class="brand-logo"' not in home and "Stadt Behalten" in home
    assert (await client.get("/logo")).status_code == 404
    without = (await client.get("/manifest.webmanifest")).json()
    assert set(_icon_srcs(without)).isdisjoint(_icon_srcs(with_logo))
    icon = Image.open(io.BytesIO((await client.get(without["icons"][0]["src"])).content)).convert("RGB")
    assert (250, 200, 0) not in {c for _, c in icon.getcolors(4096) or []}  # the monogram again


async def test_an_svg_logo_is_refused_with_the_reason_and_the_values_are_kept(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    refused = await _upload(
        client, ("logo.svg", svg, "image/svg+xml"), name="Stadt Vektor", short_name="Vektor", **COLOURS
    )
    assert refused.status_code == 422
    assert "SVG" in refused.text and "PNG, JPEG or WebP" in refused.text
    assert 'value="Stadt Vektor"' in refused.text and 'value="Vektor"' in refused.text
    assert 'aria-describedby="logo-hint logo-error"' in refused.text
    assert "Stadt Vektor" not in (await client.get("/")).text


@pytest.mark.parametrize(
    ("filename", "body", "message"),
    [
        ("logo.png", b"this is no image at all", "not an image we can read"),
        (
            "logo.gif",
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
            "not an image we can read",
        ),
        ("empty.png", b"", "The chosen file is empty."),
        ("huge.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 10), "larger than 2 MB"),
    ],
)
async def test_a_file_that_is_no_usable_logo_is_refused(
    client: Client, tenant: TenantFixture, filename: str, body: bytes, message: str
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    answer = await _upload(client, (filename, body, "image/png"), name="Stadt Kaputt", **COLOURS)
    assert answer.status_code == 422 and message in answer.text
    assert 'value="Stadt Kaputt"' in answer.text


async def test_a_huge_image_is_refused_before_it_is_decoded(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    bomb = _png((6000, 6000), (0, 0, 0, 0))  # 36 MP of one colour compress to a few kB
    answer = await _upload(client, ("bomb.png", bomb, "image/png"), name="Stadt Bombe", **COLOURS)
    assert answer.status_code == 422 and "megapixels" in answer.text


async def test_a_short_name_that_is_too_long_is_refused_and_an_empty_one_follows_the_name(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _upload(client, None, name="Stadt Lang", short_name="Sehr lange Kurzbezeichnung", **COLOURS)
    assert refused.status_code == 422 and "at most 15 characters" in refused.text
    assert 'value="Sehr lange Kurzbezeichnung"' in refused.text
    assert (await _upload(client, None, name="Stadt Neustrelitz", short_name="", **COLOURS)).status_code == 303
    assert (await client.get("/manifest.webmanifest")).json()["short_name"] == "Neustrelitz"


async def test_the_branding_page_shows_a_preview_of_the_saved_state(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (
        await _upload(client, ("logo.png", _png(), "image/png"), name="Stadt Vorschau", **COLOURS)
    ).status_code == 303
    page = (await client.get(PAGE, headers={"Accept-Language": "en"})).text
    assert 'id="phone-preview"' in page and '<span class="phone-name" id="preview-name">Stadt Vorschau</span>' in page
    assert re.search(r'id="preview-logo" src="/logo\?v=[0-9a-f]+"', page)
    assert '<script src="/static/js/branding.js" defer></script>' in page and "<script>" not in page
    assert (await client.get("/static/js/branding.js")).status_code == 200


async def test_an_admin_of_another_municipality_cannot_change_this_branding(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        assert (await login(theirs, other_tenant.admin_email, other_tenant.password)).status_code == 303
        token = csrf_token((await theirs.get(PAGE)).text)
        session_cookie = theirs.cookies.get("rathaus_session")
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        mine.cookies.set("rathaus_session", session_cookie or "")
        answer = await mine.post(
            PAGE,
            data={"_csrf_token": token, "name": "Übernommen", **COLOURS},
            files={"logo": ("logo.png", _png(), "image/png")},
            follow_redirects=False,
        )
        assert answer.status_code in (302, 303, 401, 403)
        assert "location" not in answer.headers or "/staff/login" in answer.headers["location"]
        home = (await mine.get("/")).text
        assert "Übernommen" not in home and 'class="brand-logo"' not in home

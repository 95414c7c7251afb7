"""Legal texts become HTML in one safe way: paragraphs, line breaks, headings and links, nothing else."""

from __future__ import annotations

from backend.tenants.legal import KINDS, Contact, render_text, template_text


def test_paragraphs_line_breaks_headings_and_links() -> None:
    html = render_text("## Title\n\nLine one\r\nLine two, see https://a.example/x?y=1&z=2.\n\n\nMail info@a.example!")
    assert html == (
        "<h2>Title</h2>\n<p>Line one<br>\nLine two, see "
        '<a href="https://a.example/x?y=1&amp;z=2">https://a.example/x?y=1&amp;z=2</a>.</p>\n'
        '<p>Mail <a href="mailto:info@a.example">info@a.example</a>!</p>'
    )


def test_html_of_the_admin_is_shown_as_text() -> None:
    html = render_text('<script>x()</script> <a href="javascript:y()">z</a> javascript:alert(1)')
    assert "<script" not in html and '<a href="javascript' not in html
    assert "&lt;script&gt;" in html and "&lt;a href=&#34;javascript:y()&#34;&gt;" in html


def test_every_template_exists_in_both_languages_and_is_filled() -> None:
    contact = Contact(address="Markt 1", phone="+49 1", email="a@b.example", accessibility_email="c@b.example")
    for kind in KINDS:
        for language in ("de", "en"):
            text = template_text(kind, language, "Stadt X", contact)
            assert "Stadt X" in text and "{" not in text, (kind, language)
    assert "c@b.example" in template_text("accessibility", "de", "Stadt X", contact)
    assert "Markt 1" in template_text("imprint", "en", "Stadt X", contact)

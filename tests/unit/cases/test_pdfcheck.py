"""PDF uploads are parsed for real: active content and non-PDFs are refused, what is kept is written anew."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from backend.cases.uploads import UploadRejected, clean_upload

LIMIT = 2 * 1024 * 1024


def pdf(change: Callable[[PdfWriter], None] | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if change is not None:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_plain_pdf_is_accepted_where_documents_are_allowed() -> None:
    clean = clean_upload(pdf(), "form.pdf", "document", LIMIT)
    assert clean.content_type == "application/pdf" and clean.suffix == ".pdf"
    assert len(PdfReader(io.BytesIO(clean.data)).pages) == 1


def test_a_pdf_with_a_web_link_is_accepted() -> None:
    def link(w: PdfWriter) -> None:
        w.add_annotation(page_number=0, annotation=Link(rect=(10, 10, 100, 30), url="https://example.org"))

    assert clean_upload(pdf(link), "letter.pdf", "document", LIMIT).content_type == "application/pdf"


def test_bytes_hidden_after_the_end_of_a_pdf_are_not_stored() -> None:
    polyglot = pdf() + b"\n<html><script>alert(document.cookie)</script></html>\n"
    clean = clean_upload(polyglot, "form.pdf", "document", LIMIT)
    assert b"<script>" not in clean.data


def _open_action(action: str) -> Callable[[PdfWriter], None]:
    def change(w: PdfWriter) -> None:
        w._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject(action), NameObject("/F"): TextStringObject("calc.exe")}
        )

    return change


def _page_action(w: PdfWriter) -> None:
    # A form field's or page's additional action ("/AA") that runs JavaScript when the page opens.
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")})
    w.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): js})


def _document_javascript(w: PdfWriter) -> None:
    # The document-level name tree a viewer runs when the file is opened.
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")})
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("x"), w._add_object(js)])})
    w._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


@pytest.mark.parametrize(
    "change",
    [
        _document_javascript,
        lambda w: w.add_attachment("payload.exe", b"MZ..."),
        _open_action("/Launch"),
        _open_action("/SubmitForm"),
        _page_action,
    ],
    ids=["javascript", "embedded-file", "launch", "submit-form", "page-javascript"],
)
def test_a_pdf_with_active_content_is_refused(change: Callable[[PdfWriter], None]) -> None:
    with pytest.raises(UploadRejected, match="scripts|Skripte"):
        clean_upload(pdf(change), "form.pdf", "document", LIMIT)


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n<html><script>alert(1)</script></html>", b"%PDF-1.4\n" + b"\x00" * 64, b"%PDF-"],
    ids=["html-behind-a-pdf-header", "zeros", "header-only"],
)
def test_a_file_that_only_starts_like_a_pdf_is_refused(content: bytes) -> None:
    with pytest.raises(UploadRejected, match="not a PDF|keine PDF"):
        clean_upload(content, "form.pdf", "document", LIMIT)


def test_a_password_protected_pdf_is_refused() -> None:
    with pytest.raises(UploadRejected, match="password|Passwort"):
        clean_upload(pdf(lambda w: w.encrypt("secret")), "form.pdf", "document", LIMIT)

"""Checks an uploaded PDF with a real parser, refuses active content, and writes it anew.

A file that merely starts with ``%PDF-`` can be anything after that (a polyglot: HTML, a ZIP, a script).
We keep only what parses as a PDF, and store pypdf's re-written copy, so bytes appended after the
document's end never reach a clerk.

Refused (a clerk's viewer could act on them): JavaScript anywhere (``/JS``, the ``/JavaScript`` name
tree, ``/S /JavaScript``), embedded and attached files (``/EmbeddedFiles``, ``/EF``), launch actions,
actions that open or send other files or data (``GoToR``, ``GoToE``, ``SubmitForm``, ``ImportData``),
multimedia (``RichMedia``, ``Rendition``, ``Movie``, ``Sound``) and XFA forms. An ``/OpenAction`` or
``/AA`` (additional actions) is judged by the action it names: a jump to a page is fine, JavaScript is not.
Kept: ``URI`` links. Letters and forms often carry them, and a viewer asks before it follows one; the
file is served as a download, never rendered by us.
Encrypted files are refused too: their content cannot be checked.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"})
ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/GoToR",
        "/GoToE",
        "/SubmitForm",
        "/ImportData",
        "/RichMediaExecute",
        "/Rendition",
        "/Movie",
        "/Sound",
    }
)
MAX_OBJECTS = 200_000  # far more than a scanned letter has; a bound on the work one upload can cause


class PdfRejected(ValueError):
    """Why the file is not taken: ``reason`` is "unreadable", "encrypted" or "active"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_pdf(data: bytes) -> bytes:
    """The PDF re-written by pypdf, or PdfRejected."""
    try:
        # pypdf logs what it repairs; an upload's defects are no operator's concern.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise PdfRejected("encrypted")
        if len(reader.pages) < 1:
            raise PdfRejected("unreadable")
        _check(reader.trailer)
        writer = PdfWriter(clone_from=reader)
        out = io.BytesIO()
        writer.write(out)
    except PdfRejected:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise PdfRejected("unreadable") from exc
    except Exception as exc:  # pypdf raises many kinds on broken input; none may become a 500
        raise PdfRejected("unreadable") from exc
    return out.getvalue()


def _check(root: Any) -> None:
    """Walks everything reachable from the trailer (what a viewer can reach), without recursion."""
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [root]
    visited = 0
    while todo:
        item = todo.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            raise PdfRejected("unreadable")
        if isinstance(item, (DictionaryObject, StreamObject)):
            for key in item:
                if key in ACTIVE_KEYS:
                    raise PdfRejected("active")
            if item.get("/S") in ACTIVE_ACTIONS:
                raise PdfRejected("active")
            todo.extend(item.values())
        elif isinstance(item, ArrayObject):
            todo.extend(item)

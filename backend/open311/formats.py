"""The two formats of GeoReport v2: bare JSON arrays (or objects), and XML with a declaration and the
specification's root and item elements; errors as ``[{"code": ..., "description": ...}]`` in both."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import msgspec
from litestar import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# The element of each item inside a list element.
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
NO_STORE = {"Cache-Control": "no-store"}


def format_of(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def split_format(name: str) -> tuple[str, str | None]:
    """``2026-00001.json`` -> (``2026-00001``, ``json``); a name without one of the two endings has no format."""
    for fmt in ("json", "xml"):
        if name.endswith("." + fmt) and len(name) > len(fmt) + 1:
            return name[: -len(fmt) - 1], fmt
    return name, None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEM_OF.get(name, "item")), ITEM_OF.get(name, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, content: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, content)
    return (XML_DECLARATION + ET.tostring(element, encoding="unicode")).encode()


def respond(
    fmt: str, root: str, content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """``content`` as JSON, or as XML under the root element ``root``."""
    if fmt == "xml":
        body, media_type = to_xml(root, content), XML_TYPE
    else:
        body, media_type = msgspec.json.encode(content), JSON_TYPE
    return Response(body, status_code=status, media_type=media_type, headers={**NO_STORE, **(headers or {})})


def error_response(
    fmt: str, status: int, descriptions: list[str], headers: dict[str, str] | None = None
) -> Response[bytes]:
    return respond(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status, headers)

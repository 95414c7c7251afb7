"""Checks an uploaded file by its content and re-encodes photos: no metadata, orientation kept, bounded size."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.cases.pdfcheck import PdfRejected, clean_pdf
from backend.core.i18n import gettext as _

MAX_PIXELS = 40_000_000  # a 12 MB phone photo has ~12–50 MP; beyond this we refuse rather than decode
MAX_EDGE = 2560
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


class UploadRejected(ValueError):
    """A file we do not accept; the message is for the citizen."""


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    content_type: str
    suffix: str
    width: int | None = None
    height: int | None = None


def clean_upload(data: bytes, filename: str, accept: str, max_bytes: int) -> CleanFile:
    if not data:
        raise UploadRejected(_("The file %(name)s is empty.", name=filename))
    if len(data) > max_bytes:
        raise UploadRejected(
            _("The file %(name)s is larger than %(mb)s MB.", name=filename, mb=max_bytes // (1024 * 1024))
        )
    if accept == "document" and data[:5] == b"%PDF-":
        return _clean_pdf(data, filename)
    return _clean_image(data, filename)


def pixels_of(data: bytes) -> int:
    """Width × height from the image's header only (nothing is decoded); 0 for anything that is no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                return int(probe.width) * int(probe.height)
    except Exception:  # noqa: BLE001 - not an image (or a broken one): the cleaning step says so
        return 0


def _clean_pdf(data: bytes, filename: str) -> CleanFile:
    try:
        return CleanFile(data=clean_pdf(data), content_type="application/pdf", suffix=".pdf")
    except PdfRejected as exc:
        if exc.reason == "active":
            raise UploadRejected(
                _(
                    "The PDF %(name)s contains scripts, attached files or actions we do not accept. "
                    "Please print it to a new PDF or send a photo of it.",
                    name=filename,
                )
            ) from exc
        if exc.reason == "encrypted":
            raise UploadRejected(
                _("The PDF %(name)s is password-protected. Please send it without protection.", name=filename)
            ) from exc
        raise UploadRejected(_("The file %(name)s is not a PDF we can read.", name=filename)) from exc


def _clean_image(data: bytes, filename: str) -> CleanFile:
    not_an_image = UploadRejected(_("The file %(name)s is not a photo we can read (JPEG, PNG or WebP).", name=filename))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in IMAGE_FORMATS:
                    raise not_an_image
                if probe.width * probe.height > MAX_PIXELS:
                    raise UploadRejected(_("The photo %(name)s has too many pixels.", name=filename))
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                # JPEG can decode at a fraction of its size: a 50 MP photo never fills memory at full size.
                img.draft("RGB", (MAX_EDGE, MAX_EDGE))
                img.load()
                upright = ImageOps.exif_transpose(img)
    except UploadRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UploadRejected(_("The photo %(name)s has too many pixels.", name=filename)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise not_an_image from exc
    if upright.mode not in ("RGB", "L"):
        background = Image.new("RGB", upright.size, (255, 255, 255))
        rgba = upright.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        upright = background
    upright.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    # Re-encoding writes only pixels: EXIF (camera, GPS position, time) and other metadata are dropped.
    upright.save(out, format="JPEG", quality=85, optimize=True)
    return CleanFile(
        data=out.getvalue(),
        content_type="image/jpeg",
        suffix=".jpg",
        width=upright.width,
        height=upright.height,
    )

"""A municipality's logo: checked by its content, decoded with bounds, re-encoded as a clean PNG."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from backend.core.i18n import gettext as _

# Formats we decode; SVG is refused: it can carry scripts and no sanitiser for it is installed.
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}
# Refused before decoding: a logo needs no more, and a decompression bomb never reaches memory.
MAX_LOGO_PIXELS = 25_000_000
# The stored copy's longest side: enough for a 512 px icon and a sharp header on any screen.
LOGO_EDGE = 1024


class LogoRejected(ValueError):
    """A file we do not take as a logo; the message is for the admin."""


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and (b"<svg" in data[:4096].lower() or head.startswith((b"<?xml", b"<!doctype svg")))


def clean_logo(data: bytes) -> bytes:
    """The logo as a PNG with no metadata, at most LOGO_EDGE pixels on its longest side, transparency kept.

    CPU-heavy: call it through backend.core.offload.run_cpu.
    """
    if not data:
        raise LogoRejected(_("The chosen file is empty."))
    if _looks_like_svg(data):
        raise LogoRejected(
            _("SVG logos cannot be used yet, as they can contain scripts. Please upload the logo as PNG, JPEG or WebP.")
        )
    unreadable = LogoRejected(_("This file is not an image we can read. Please upload a PNG, JPEG or WebP file."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. broken EXIF: the pixels are all we keep
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in LOGO_FORMATS:
                    raise unreadable
                if probe.width * probe.height > MAX_LOGO_PIXELS:
                    raise LogoRejected(
                        _(
                            "The image is too large (at most %(mp)s megapixels). Please upload a smaller version.",
                            mp=MAX_LOGO_PIXELS // 1_000_000,
                        )
                    )
                probe.seek(0)  # an animated image: its first frame
                img = ImageOps.exif_transpose(probe)
                img = img.convert("RGBA") if img.mode in ("RGBA", "LA", "P", "PA") else img.convert("RGB")
    except LogoRejected:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise unreadable from None
    img.thumbnail((LOGO_EDGE, LOGO_EDGE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    # A new image from the pixels alone: no EXIF, ICC profile, text chunks or anything else comes along.
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    clean.save(buf, format="PNG", optimize=True)
    return buf.getvalue()

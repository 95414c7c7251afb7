"""Uploads are checked by content and photos re-encoded: no metadata, upright, bounded in size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from backend.cases.uploads import MAX_EDGE, UploadRejected, clean_upload

LIMIT = 15 * 1024 * 1024


def photo_with_gps_and_rotation() -> bytes:
    img = Image.new("RGB", (400, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; the picture must be shown rotated 90°
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {2: (52.0, 31.0, 0.0), 4: (13.0, 24.0, 0.0)}  # GPS position
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def test_photo_loses_exif_and_gps_but_keeps_its_orientation() -> None:
    clean = clean_upload(photo_with_gps_and_rotation(), "p.jpg", "image", LIMIT)
    with Image.open(io.BytesIO(clean.data)) as img:
        assert img.format == "JPEG"
        assert (img.width, img.height) == (200, 400), "rotated upright before the metadata was dropped"
        assert not img.getexif(), "no EXIF (and so no GPS, camera, time) left"
    assert clean.content_type == "image/jpeg"


def test_large_photos_are_scaled_down() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (6000, 4000)).save(buf, format="PNG")
    clean = clean_upload(buf.getvalue(), "big.png", "image", LIMIT)
    assert max(clean.width or 0, clean.height or 0) == MAX_EDGE


def test_transparent_png_becomes_a_jpeg_on_white() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(buf, format="PNG")
    clean = clean_upload(buf.getvalue(), "t.png", "image", LIMIT)
    with Image.open(io.BytesIO(clean.data)) as img:
        assert img.getpixel((5, 5)) == (255, 255, 255)


def test_decompression_bomb_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, format="PNG")  # tiny file, 144 megapixels
    with pytest.raises(UploadRejected, match="bomb.png"):
        clean_upload(buf.getvalue(), "bomb.png", "image", LIMIT)


@pytest.mark.parametrize(
    "content", [b"", b"GIF89a-but-not-really", b"%PDF-1.7 fake", b"<svg onload=alert(1)>"]
)
def test_non_images_are_refused_for_photo_fields(content: bytes) -> None:
    with pytest.raises(UploadRejected):
        clean_upload(content, "x.jpg", "image", LIMIT)


def test_oversized_file_is_refused_with_its_name() -> None:
    with pytest.raises(UploadRejected, match="huge.jpg"):
        clean_upload(b"x" * 101, "huge.jpg", "image", 100)

"""Test data made in code: media with planted location, and domain rows."""

from __future__ import annotations

import io

from PIL import Image

GPS_LAT = (42, 15, 45)
GPS_LON = (71, 48, 8)


def jpeg_with_gps(
    size: tuple[int, int] = (64, 48), orientation: int = 1, comment: bytes = b""
) -> bytes:
    """A JPEG carrying EXIF GPS (42.2626 N, 71.8023 W), a serial and a camera owner."""
    image = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, (x + y) % 256))
    exif = Image.Exif()
    exif[0x010F] = "CANARY-Make"  # Make
    exif[0x0110] = "CANARY-Model"  # Model
    exif[0x0112] = orientation  # Orientation
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0xA431] = "CANARY-SERIAL-123"  # BodySerialNumber
    exif_ifd[0xA430] = "CANARY Owner"  # CameraOwnerName
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LAT
    gps[3] = "W"
    gps[4] = GPS_LON
    out = io.BytesIO()
    kwargs = {"comment": comment} if comment else {}
    image.save(out, "JPEG", exif=exif, quality=90, **kwargs)
    return out.getvalue()

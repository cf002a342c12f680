"""Test data made in code: media with planted location, and domain rows."""

from __future__ import annotations

import io
import subprocess
import tempfile
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from PIL import Image

from intake.quarantine import EncryptingWriter
from reports.models import MediaItem
from reports.services import media_item_quarantine, report_create

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


def quarantined_item(data: bytes, description: str = "Quarantined.") -> MediaItem:
    """A report with one item in quarantine and no task published (as after a broker
    outage): rows through the services, ciphertext through the encrypting writer."""
    report = report_create(receipt_hash=uuid.uuid4().hex * 2, description=description)
    sealed = io.BytesIO()
    writer = EncryptingWriter(sealed)
    writer.write(data)
    writer.close()
    sealed.seek(0)
    name = storages["quarantine"].save(f"{uuid.uuid4().hex}.tq", File(sealed))
    return media_item_quarantine(
        report=report, position=0, quarantine_name=name, size=len(data), sha256=""
    )


def quarantined_file(path: Path, description: str = "Quarantined file.") -> MediaItem:
    """``quarantined_item`` for a file on disk of any size: encrypted in 1 MiB steps
    into a temporary file, then stored as the intake stores an upload."""
    report = report_create(receipt_hash=uuid.uuid4().hex * 2, description=description)
    with tempfile.TemporaryFile() as sealed, path.open("rb") as plain:
        writer = EncryptingWriter(sealed)
        while block := plain.read(1 << 20):
            writer.write(block)
        writer.close()
        sealed.seek(0)
        name = storages["quarantine"].save(f"{uuid.uuid4().hex}.tq", File(sealed))
    return media_item_quarantine(
        report=report, position=0, quarantine_name=name, size=path.stat().st_size, sha256=""
    )


def noise_video(path: Path, size_mb: int) -> Path:
    """A real H.264 MP4 of about ``size_mb`` MB, quick to make at any size: six seconds of
    moving noise encoded once, repeated by stream copy."""
    clip = path.with_suffix(".clip.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
         "-i", "color=c=gray:s=640x480:r=25,noise=alls=60:allf=t+u", "-t", "6",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "12000k", "-maxrate", "12000k",
         "-bufsize", "6000k", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    loops = max(0, round(size_mb * 1_000_000 / clip.stat().st_size) - 1)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(clip),
         "-c", "copy", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    clip.unlink()
    return path

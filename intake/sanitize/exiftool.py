"""ExifTool as a third, independent reader of sanitized output (when it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

# Groups that must not appear at all in a sanitized file.
_FORBIDDEN_GROUP = re.compile(
    r"^(GPS|XMP.*|IPTC|Photoshop|MakerNotes|Apple|Samsung.*|Google|MPF\d*|JUMBF|C2PA|"
    r"ID3.*|Vorbis|APE|UserData|Keys|ItemList|GoPro|CanonVRD|FlashPix)$"
)
_FORBIDDEN_NAME = re.compile(
    r"GPS|Latitude|Longitude|Location|ISO6709|City|Country|Serial|Owner|Artist|Author|"
    r"Creator$|Copyright|UniqueID|ContentIdentifier|ThumbnailImage|PreviewImage|Comment",
    re.I,
)
# Groups describing the file on disk or ExifTool itself.
_STRUCTURAL_GROUPS = {"System", "File", "ExifTool", "Composite", ""}
# Tags ExifTool derives from structure, not metadata the file carries.
_HARMLESS_NAME = re.compile(r"^(CompressorName|HandlerDescription|ProfileCopyright)$")


def exiftool_findings(
    path: Path, exiftool: str = "exiftool", timeout: float = 60
) -> list[str] | None:
    """Findings ExifTool reports for ``path``; None when ExifTool is not installed."""
    executable = shutil.which(exiftool)
    if executable is None:
        return None
    completed = subprocess.run(
        [executable, "-j", "-a", "-u", "-G1", "-ee3", "-api", "LargeFileSupport=1", str(path)],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    try:
        records = json.loads(completed.stdout or b"[]")
    except json.JSONDecodeError:
        return ["exiftool output unreadable"]
    findings: list[str] = []
    for record in records:
        for key in record:
            group, _, name = key.rpartition(":")
            if group in _STRUCTURAL_GROUPS or _HARMLESS_NAME.match(name):
                continue
            if _FORBIDDEN_GROUP.match(group) or _FORBIDDEN_NAME.search(name):
                findings.append(key)
    return findings

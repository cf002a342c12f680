"""The resident ExifTool (intake/sanitize/exiftool.py): one process answers many files, is
replaced when it dies or hangs, and answers exactly what a one-shot run would."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from intake.sanitize import sanitize
from intake.sanitize.exiftool import (
    _READ_ARGS,
    ExifToolFailed,
    _findings,
    exiftool_close,
    exiftool_findings,
    resident_exiftool,
)
from tests.factories.tools import require_shared_samples, require_tool

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exiftool() -> Iterator[str]:
    executable = require_tool("exiftool")
    yield executable
    exiftool_close()


def _fake_exiftool(tmp_path: Path, script: str) -> str:
    """A stand-in executable for ExifTool that misbehaves as ``script`` says."""
    path = tmp_path / "fake-exiftool"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (dead, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _one_shot(exiftool: str, path: Path) -> bytes:
    """What the check ran before ExifTool stayed resident: one process per file."""
    return subprocess.run(
        [exiftool, *_READ_ARGS, str(path)], capture_output=True, check=False
    ).stdout


def _records(stdout: bytes) -> list[dict[str, Any]]:
    """ExifTool's records without the System group (file times: the access time moves)."""
    records: list[dict[str, Any]] = json.loads(stdout)
    return [{k: v for k, v in r.items() if "System" not in k.split(":")[:-1]} for r in records]


def test_exiftool_resident_is_reused_across_files(exiftool: str) -> None:
    photo = require_shared_samples() / "files" / "jpeg_phone_full_4032x3024.jpg"

    assert exiftool_findings(photo, exiftool)
    first = resident_exiftool(exiftool).pid
    assert exiftool_findings(photo, exiftool)

    assert first is not None
    assert resident_exiftool(exiftool).pid == first


def test_exiftool_resident_killed_is_restarted(exiftool: str) -> None:
    photo = require_shared_samples() / "files" / "jpeg_gps_only_small.jpg"
    expected = exiftool_findings(photo, exiftool)
    killed = resident_exiftool(exiftool).pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    assert exiftool_findings(photo, exiftool) == expected

    assert resident_exiftool(exiftool).pid not in (None, killed)


def test_exiftool_resident_timeout_kills_and_next_call_restarts(
    exiftool: str, tmp_path: Path
) -> None:
    photo = require_shared_samples() / "files" / "jpeg_gps_only_small.jpg"
    hangs = _fake_exiftool(tmp_path, "exec sleep 600\n")

    with pytest.raises(subprocess.TimeoutExpired):
        exiftool_findings(photo, hangs, timeout=0.5)

    assert resident_exiftool(hangs).pid is None  # killed, not left to hang
    with pytest.raises(subprocess.TimeoutExpired):
        exiftool_findings(photo, exiftool, timeout=0.000001)
    assert resident_exiftool(exiftool).pid is None
    assert exiftool_findings(photo, exiftool) == _findings(_one_shot(exiftool, photo))


def test_exiftool_timeout_leaves_no_process_behind(tmp_path: Path) -> None:
    hangs = _fake_exiftool(tmp_path, "exec sleep 600\n")
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            exiftool_findings(tmp_path / "any.jpg", hangs, timeout=0.5)
        resident = resident_exiftool(hangs)
        assert resident.pid is None
    finally:
        exiftool_close()
    leftover = subprocess.run(["pgrep", "-f", hangs], capture_output=True, text=True).stdout
    assert leftover == ""


def test_exiftool_that_cannot_answer_fails_closed(tmp_path: Path) -> None:
    dies = _fake_exiftool(tmp_path, "exit 0\n")
    try:
        with pytest.raises(ExifToolFailed):
            exiftool_findings(tmp_path / "any.jpg", dies)
    finally:
        exiftool_close()


def test_exiftool_output_not_json_is_a_finding(tmp_path: Path) -> None:
    garbles = _fake_exiftool(
        tmp_path,
        'while read -r line; do case "$line" in -execute*)\n'
        '  echo "not json"; echo "{ready${line#-execute}}";; esac; done\n',
    )
    try:
        assert exiftool_findings(tmp_path / "any.jpg", garbles) == ["exiftool output unreadable"]
        assert exiftool_findings(tmp_path / "any.jpg", garbles) == ["exiftool output unreadable"]
    finally:
        exiftool_close()


def test_exiftool_resident_answers_as_a_one_shot_run(exiftool: str, tmp_path: Path) -> None:
    files = require_shared_samples() / "files"
    dirty = sorted(p for p in files.iterdir() if p.is_file() and p.name != "MANIFEST.json")
    sanitized = tmp_path / "clean.jpg"
    assert sanitize(files / "jpeg_phone_full_4032x3024.jpg", sanitized).status == "clean"

    for path in [*dirty, sanitized]:
        one_shot = _one_shot(exiftool, path)
        resident = resident_exiftool(exiftool).read(str(path), 60)
        assert _records(resident) == _records(one_shot), path.name
        assert exiftool_findings(path, exiftool) == _findings(one_shot), path.name

    assert exiftool_findings(sanitized, exiftool) == []
    assert all(exiftool_findings(path, exiftool) for path in dirty)


def _app1_of(path: Path) -> bytes:
    """The first APP1 segment (EXIF) of a JPEG, marker and length included."""
    data = path.read_bytes()
    at = data.index(b"\xff\xe1")
    return data[at : at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")]


def _jpeg(color: tuple[int, int, int], **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG", **options)
    return out.getvalue()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (2 + len(payload)).to_bytes(2, "big") + payload


def _jpegs_the_embedded_read_reads_further(tmp_path: Path) -> dict[str, Path]:
    """JPEGs with GPS EXIF where ExifTool finds it only with -ee3: after the scan before
    EOI, between progressive scans, a GPS JPEG after EOI (and a video), inside a scan
    header made longer than its fields (ExifTool looks for markers from FF DA on), behind
    a code ExifTool takes as a marker without a length, and as an MPF image."""
    files = require_shared_samples() / "files"
    gps_app1 = _app1_of(files / "jpeg_gps_only_small.jpg")
    clean = tmp_path / "clean.jpg"
    assert sanitize(files / "jpeg_phone_full_4032x3024.jpg", clean).status == "clean"
    photo = clean.read_bytes()
    scans = _jpeg((200, 40, 40), progressive=True)
    first_scan = scans.index(b"\xff\xda")
    second = min(
        at for code in (b"\xff\xc4", b"\xff\xda") if (at := scans.find(code, first_scan + 2)) > 0
    )
    plain = _jpeg((9, 90, 200))
    sos = plain.index(b"\xff\xda")
    sos_end = sos + 2 + int.from_bytes(plain[sos + 2 : sos + 4], "big")
    gps_jpeg = _jpeg((0, 0, 0))
    gps_jpeg = gps_jpeg[:2] + gps_app1 + gps_jpeg[2:]
    made = {
        "after-scan": photo[:-2] + gps_app1 + photo[-2:],
        "between-scans": scans[:second] + gps_app1 + scans[second:],
        "after-eoi": photo + (files / "jpeg_gps_only_small.jpg").read_bytes(),
        "video-after-eoi": photo + (files / "mp4_rotated90_xyz.mp4").read_bytes(),
        "in-scan-header": plain[:sos]
        + _segment(0xDA, plain[sos + 4 : sos_end] + gps_app1)
        + plain[sos_end:],
        "behind-j2c-code": plain[:2] + _segment(0x30, b"\xff\xda" + gps_app1) + plain[2:],
        "mpf-image": plain[:2] + _mpf_pointing_at(gps_jpeg, plain[2:]),
    }
    for label, data in made.items():
        (tmp_path / f"{label}.jpg").write_bytes(data)
    return {label: tmp_path / f"{label}.jpg" for label in made}


def _mpf_pointing_at(image: bytes, rest: bytes) -> bytes:
    """An MPF APP2 whose second image is ``image``, stored in an APP15 right after it,
    then ``rest`` (a JPEG without its SOI)."""

    def mpf(offset: int, total: int) -> bytes:
        entries = struct.pack(">IIIHH", 0x20030000, total, 0, 0, 0)
        entries += struct.pack(">IIIHH", 0x00010000, len(image), offset, 0, 0)
        ifd = struct.pack(">H", 3) + struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
        ifd += struct.pack(">HHII", 0xB001, 4, 1, 2)
        ifd += struct.pack(">HHII", 0xB002, 7, len(entries), 8 + 2 + 36 + 4)
        ifd += struct.pack(">I", 0)
        return b"MPF\x00MM\x00\x2a" + struct.pack(">I", 8) + ifd + entries

    size = len(mpf(0, 0))
    # Offsets count from the MPF's TIFF header: SOI, APP2 marker and length, "MPF\0".
    offset = (2 + 2 + 2 + size + 4) - (2 + 4 + 4)
    total = 2 + 2 + 2 + size + 4 + len(image) + len(rest)
    return _segment(0xE2, mpf(offset, total)) + _segment(0xEF, image) + rest


def test_exiftool_jpeg_read_finds_what_the_embedded_read_finds(
    exiftool: str, tmp_path: Path
) -> None:
    files = require_shared_samples() / "files"
    jpegs = sorted(
        p for p in files.rglob("*") if p.is_file() and p.read_bytes()[:3] == b"\xff\xd8\xff"
    )
    jpegs += _jpegs_the_embedded_read_reads_further(tmp_path).values()

    assert len(jpegs) >= 15
    for path in jpegs:
        assert exiftool_findings(path, exiftool) == _findings(_one_shot(exiftool, path)), path


def test_exiftool_finds_exif_after_the_first_scan(exiftool: str, tmp_path: Path) -> None:
    made = _jpegs_the_embedded_read_reads_further(tmp_path)

    for label in ("after-scan", "between-scans", "in-scan-header", "behind-j2c-code", "mpf-image"):
        findings = exiftool_findings(made[label], exiftool)
        assert findings is not None
        # A second EXIF block's tags are copies: EXIF:GPS:Copy1:GPSLatitude.
        assert any(key.endswith(":GPSLatitude") for key in findings), label


def test_exiftool_reads_past_the_scan_only_when_something_is_there(tmp_path: Path) -> None:
    # Reports a GPS tag when asked for embedded data (-ee3), nothing otherwise.
    telltale = _fake_exiftool(
        tmp_path,
        'ee=""\n'
        'while read -r line; do case "$line" in\n'
        "  -ee3) ee=1;;\n"
        '  -execute*) if [ -n "$ee" ]; then echo \'[{"GPS:GPSLatitude": 1}]\'; '
        'else echo \'[]\'; fi; ee=""; echo "{ready${line#-execute}}";;\n'
        "esac; done\n",
    )
    files = require_shared_samples() / "files"
    made = _jpegs_the_embedded_read_reads_further(tmp_path)
    try:
        for clean in (tmp_path / "clean.jpg", files / "jpeg_gps_only_small.jpg"):
            assert exiftool_findings(clean, telltale) == [], clean.name
        # EXIF with a maker note, which ExifTool decodes further with -ee3.
        maker_note = files / "real" / "exifsamples_DSCN0010.jpg"
        assert exiftool_findings(maker_note, telltale) == ["GPS:GPSLatitude"]
        for label, path in made.items():
            assert exiftool_findings(path, telltale) == ["GPS:GPSLatitude"], label
        others = ("png_exif_chunk_xmp_text.png", "mp4_rotated90_xyz.mp4", "heic_iphone_like.heic")
        for name in others:
            assert exiftool_findings(files / name, telltale) == ["GPS:GPSLatitude"], name
        # The content decides, not the name.
        disguised = tmp_path / "video.jpg"
        disguised.write_bytes((files / "mp4_rotated90_xyz.mp4").read_bytes())
        assert exiftool_findings(disguised, telltale) == ["GPS:GPSLatitude"]
        # Cut short: no EOI at the end.
        cut = tmp_path / "cut.jpg"
        cut.write_bytes((tmp_path / "clean.jpg").read_bytes()[:-1000])
        assert exiftool_findings(cut, telltale) == ["GPS:GPSLatitude"]
    finally:
        exiftool_close()


def test_exiftool_finds_nothing_in_any_sample_the_sanitizer_cleans(
    exiftool: str, tmp_path: Path
) -> None:
    files = require_shared_samples() / "files"
    samples = sorted(p for p in files.rglob("*") if p.is_file() and p.name != "MANIFEST.json")
    cleaned = []
    for sample in samples:
        out = tmp_path / sample.name
        if sanitize(sample, out).status == "clean":
            cleaned.append(out)

    assert len(cleaned) >= 30
    assert {out.name: exiftool_findings(out, exiftool) for out in cleaned} == {
        out.name: [] for out in cleaned
    }


def test_exiftool_maker_note_is_a_finding(exiftool: str) -> None:
    nikon = require_shared_samples() / "files" / "real" / "exifsamples_DSCN0010.jpg"

    findings = exiftool_findings(nikon, exiftool)

    assert findings is not None
    assert any(key.startswith("MakerNotes:Nikon:") for key in findings)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"EXIF:GPS:GPSLatitude": "42 deg 15' 45.36\""}, ["EXIF:GPS:GPSLatitude"]),
        ({"EXIF:GPS:GPSAltitude": 0}, ["EXIF:GPS:GPSAltitude"]),
        ({"MakerNotes:Canon:AFAreaMode": "Auto"}, ["MakerNotes:Canon:AFAreaMode"]),
        ({"XMP:XMP-dc:Title": "x"}, ["XMP:XMP-dc:Title"]),
        ({"EXIF:IFD0:Artist": "Ana"}, ["EXIF:IFD0:Artist"]),
        # ExifTool prints text cut at a NUL ("\0Ana") as empty: it still counts.
        ({"EXIF:IFD0:Artist": ""}, ["EXIF:IFD0:Artist"]),
        ({"EXIF:GPS:GPSMapDatum": ""}, ["EXIF:GPS:GPSMapDatum"]),
        # ExifTool writes a text "False" as JSON false.
        ({"XMP:XMP-xmpRights:Marked": False}, ["XMP:XMP-xmpRights:Marked"]),
        ({"PNG:Comment": "", "PNG:Copy1:Comment": "Ana"}, ["PNG:Comment", "PNG:Copy1:Comment"]),
        ({"File:Comment": "42.26,-71.80"}, ["File:Comment"]),
        ({"ICC_Profile:ICC-header:ProfileCreator": ""}, []),
        (
            {"ICC_Profile:ICC-header:ProfileCreator": "appl"},
            ["ICC_Profile:ICC-header:ProfileCreator"],
        ),
        ({"MPEG:CopyrightFlag": False}, []),
        ({"MPEG:CopyrightFlag": True}, ["MPEG:CopyrightFlag"]),
        ({"Vorbis:SampleRate": 44100, "Vorbis:NominalBitrate": "80 kbps", "Vorbis:Vendor": ""}, []),
        # A comment SAMPLE_RATE=... takes the header's tag name.
        ({"Vorbis:SampleRate": "+42.2626-071.80"}, ["Vorbis:SampleRate"]),
        ({"Vorbis:Vendor": "Lavf60"}, ["Vorbis:Vendor"]),
        ({"Vorbis:Title": "x"}, ["Vorbis:Title"]),
        ({"File:System:FileName": "x", "Composite:ImageSize": "1x1"}, []),
        ({"GPS:GPSLatitude": 1}, ["GPS:GPSLatitude"]),
    ],
)
def test_exiftool_findings_of_a_record(record: dict[str, Any], expected: list[str]) -> None:
    assert _findings(json.dumps([record]).encode()) == expected


def test_exiftool_finds_a_comment_hidden_behind_an_empty_one(exiftool: str, tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "42.2626,-71.8023")
    info.add_text("Comment", "")
    png = tmp_path / "two-comments.png"
    Image.new("RGB", (8, 8)).save(png, pnginfo=info)

    assert exiftool_findings(png, exiftool) == ["PNG:Comment", "PNG:Copy1:Comment"]


def test_exiftool_finds_a_vorbis_comment_named_as_a_stream_field(
    exiftool: str, tmp_path: Path
) -> None:
    voice_note = tmp_path / "note.opus"
    subprocess.run(
        [
            require_tool("ffmpeg"), "-v", "error", "-i",
            str(require_shared_samples() / "files" / "opus_voice_note.opus"),
            "-map_metadata", "-1", "-metadata", "SAMPLE_RATE=+42.2626-071.8023",
            "-c", "copy", str(voice_note),
        ],
        check=True,
    )  # fmt: skip

    findings = exiftool_findings(voice_note, exiftool)

    assert findings is not None
    assert "Vorbis:SampleRate" in findings


def test_exiftool_resident_ends_with_a_killed_worker(exiftool: str, tmp_path: Path) -> None:
    photo = require_shared_samples() / "files" / "jpeg_gps_only_small.jpg"
    script = (
        "import sys, time\n"
        "from intake.sanitize.exiftool import exiftool_findings, resident_exiftool\n"
        f"exiftool_findings({str(photo)!r}, {exiftool!r})\n"
        f"print(resident_exiftool({exiftool!r}).pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT)
    assert worker.stdout is not None
    pid = int(worker.stdout.readline())
    assert _alive(pid)

    worker.kill()
    worker.wait()

    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)

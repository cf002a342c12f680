"""ExifTool as a third, independent reader of sanitized output (when it is installed).

One ExifTool process per worker process answers every file (``-stay_open True -@ -``):
starting Perl and ExifTool's modules costs about 0.2 s, the read of a photo a few
milliseconds. The process is started on first use, restarted when it has died, killed
(and restarted by the next call) when a file takes longer than the timeout or a call is
interrupted, and closed by exiftool_close() (the worker's shutdown) or killed by the kernel when the
worker process ends (Linux). Fail closed: when ExifTool gives no answer the call raises, so
the item is retried, never shown; output that is not ExifTool's JSON is a finding.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ._io import CHUNK, file_size

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
# Groups describing the file on disk or ExifTool itself. ExifTool's File group also holds
# a JPEG's comment (File:Comment), so a File tag with an identifying name still counts.
_STRUCTURAL_GROUPS = {"System", "File", "ExifTool", "Composite", ""}
# Tags ExifTool derives from structure, not metadata the file carries.
_HARMLESS_NAME = re.compile(r"^(CompressorName|HandlerDescription|ProfileCopyright)$")
# Family 4: the second and later copies of a tag (Copy1, ...), which JSON would otherwise
# fold into one key showing only one of the values.
_COPY = re.compile(r"^Copy\d+$")
# Tags that carry nothing with exactly these values, as the sanitizer writes them: an ICC
# profile's creator (zeroed), a Vorbis comment header's vendor (emptied), and MPEG audio's
# copyright bit (part of every frame header) when off. Any other empty value still counts:
# ExifTool prints text cut at a NUL as empty.
_EMPTIED = {
    "ICC_Profile:ICC-header:ProfileCreator": "",
    "Vorbis:Vendor": "",
    "MPEG:CopyrightFlag": False,
}
# ExifTool puts a Vorbis stream's identification header in the group of its comments, under
# names a comment can take too (SAMPLE_RATE=...): stream values only in the header's form.
_VORBIS_STREAM_NUMBERS = {"Vorbis:VorbisVersion", "Vorbis:AudioChannels", "Vorbis:SampleRate"}
_VORBIS_BITRATES = {"Vorbis:MaximumBitrate", "Vorbis:NominalBitrate", "Vorbis:MinimumBitrate"}
_BITRATE = re.compile(r"^\d+(\.\d+)? [kM]?bps$")


# The options of a read: JSON, duplicates, unknown tags, groups of families 0, 1 and 4
# (keys "EXIF:GPS:GPSLatitude": a maker note's family 1 names its maker, "Nikon", and only
# its family 0 says MakerNotes; "PNG:Copy1:Comment" for a second Comment), embedded data
# (timed metadata in videos included), files over 2 GB.
_READ_ARGS = ("-j", "-a", "-u", "-G0:1:4", "-ee3", "-api", "LargeFileSupport=1")
# A JPEG whose image data runs from its only scan to a final EOI is read without -ee3.
# In a JPEG that option makes ExifTool walk the entropy-coded data in Perl (a 12 MP photo:
# 42 ms with it, 3 ms without) to read what follows the first scan: segments between or
# after scans, and whatever follows EOI (and, before the scan, MPF images and parts of
# maker notes). When a quick look (_jpeg_is_single_scan, 4-6 ms) finds none of these, that
# walk can find nothing more; otherwise the file is read with -ee3 like any other.
_JPEG_READ_ARGS = tuple(arg for arg in _READ_ARGS if arg != "-ee3")


# ExifTool keeps polling its argument file after EOF, so a worker killed outright would
# leave it behind for good: on Linux the kernel kills it with the process that started it.
_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ExifToolFailed(RuntimeError):
    """ExifTool died twice while reading one file: no answer, so nothing is shown."""


def exiftool_findings(
    path: Path, exiftool: str = "exiftool", timeout: float = 60
) -> list[str] | None:
    """Findings ExifTool reports for ``path``; None when ExifTool is not installed.
    Raises subprocess.TimeoutExpired past ``timeout`` and ExifToolFailed when ExifTool
    cannot answer."""
    executable = shutil.which(exiftool)
    if executable is None:
        return None
    name = str(Path(path).absolute())  # never read as an option, whatever the name
    args = _read_args(Path(name))
    if "\n" in name or "\r" in name:
        # The argument file is one argument a line: such a name gets a process of its own.
        stdout = subprocess.run(
            [executable, *args, name], capture_output=True, timeout=timeout, check=False
        ).stdout
    else:
        stdout = resident_exiftool(executable).read(name, timeout, args)
    return _findings(stdout)


def _read_args(path: Path) -> tuple[str, ...]:
    """The options for ``path``: without -ee3 only for a JPEG that _jpeg_is_single_scan
    says the -ee3 walk can find nothing more in."""
    try:
        with path.open("rb") as f:
            if f.read(3) != b"\xff\xd8\xff":
                return _READ_ARGS
            return _JPEG_READ_ARGS if _jpeg_is_single_scan(f) else _READ_ARGS
    except OSError:
        return _READ_ARGS  # ExifTool will say what is wrong


# Before the scan, only segments ExifTool also reads with a length (SOFn, DHT, DAC, DQT,
# DRI, APPn, COM); any other code (JPEG 2000 codes ExifTool takes as markers without one,
# DNL, reserved codes) is not looked into.
_SEGMENTS_BEFORE_SCAN = frozenset(
    [*range(0xC0, 0xC8), *range(0xC9, 0xD0), 0xDB, 0xDD, *range(0xE0, 0xF0), 0xFE]
)
# In entropy-coded data, FF followed by anything but 00 (a stuffed FF) or D0-D7 (restart
# markers) is a marker (FF FF, fill before a marker, counts as one).
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def _jpeg_is_single_scan(f: BinaryIO) -> bool:
    """True when nothing past the first scan's header but entropy-coded data and an EOI
    ending the file, nothing that -ee3 reads differently before it (an MPF segment, EXIF
    with a maker note): the cases where ExifTool's -ee3 walk can find nothing more.
    Written apart from the sanitizer's JPEG reader and verifier, from ExifTool's own
    reading (ExifTool.pm ProcessJPEG); anything else answers False (read with -ee3)."""
    f.seek(2)
    while len(header := f.read(4)) == 4:
        marker, length = header[1], int.from_bytes(header[2:], "big")
        if header[0] != 0xFF or length < 2:
            return False
        if marker == 0xDA:
            # ExifTool searches for markers from FF DA on: the header must be exactly its
            # fields (a component count of 1-4, two bytes each, and three more bytes).
            components = f.read(1)
            if len(components) != 1 or not 1 <= components[0] <= 4:
                return False
            if length != 6 + 2 * components[0]:
                return False
            f.seek(length - 3, os.SEEK_CUR)
            return _ends_at_eoi(f)
        if marker not in _SEGMENTS_BEFORE_SCAN:
            return False
        payload = f.read(length - 2)
        if marker == 0xE2 and payload.startswith(b"MPF\x00"):
            return False
        if marker == 0xE1 and (b"\x92\x7c" in payload or b"\x7c\x92" in payload):
            return False  # perhaps a MakerNote tag (0x927C): ExifTool decodes more of it
    return False


def _ends_at_eoi(f: BinaryIO) -> bool:
    """True when the first marker from here on is an FF D9 that ends the file."""
    window_start, window = f.tell(), b""
    while block := f.read(CHUNK):
        # The last byte of a window may be an FF whose code is the next block's first.
        window = window[-1:] + block
        found = _MARKER_IN_SCAN.search(window)
        if found is not None:
            at = window_start + found.start()
            return window[found.start() + 1] == 0xD9 and at + 2 == file_size(f)
        window_start += len(window) - 1
    return False


def _findings(stdout: bytes) -> list[str]:
    try:
        records = json.loads(stdout or b"[]")
    except json.JSONDecodeError:
        return ["exiftool output unreadable"]
    findings: list[str] = []
    for record in records:
        for key, value in record.items():
            if _is_finding(key, value):
                findings.append(key)
    return findings


def _is_finding(key: str, value: object) -> bool:
    # "Family0:Family1:CopyN:Name", the families given once where they are the same.
    *groups, name = key.split(":")
    groups = [g for g in groups if not _COPY.match(g)]
    tag = ":".join([*groups, name])
    identifying = _FORBIDDEN_NAME.search(name) is not None
    if all(g in _STRUCTURAL_GROUPS for g in groups):
        return identifying and "File" in groups and "System" not in groups
    if _HARMLESS_NAME.match(name) or _is_stream_value(tag, value):
        return False
    if tag in _EMPTIED and value == _EMPTIED[tag] and type(value) is type(_EMPTIED[tag]):
        return False
    return identifying or any(_FORBIDDEN_GROUP.match(g) for g in groups)


def _is_stream_value(tag: str, value: object) -> bool:
    if tag in _VORBIS_STREAM_NUMBERS:
        return type(value) is int
    return tag in _VORBIS_BITRATES and isinstance(value, str) and bool(_BITRATE.match(value))


class ResidentExifTool:
    """One ``exiftool -stay_open True -@ -`` process, one file at a time (a lock)."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._serial = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def read(self, name: str, timeout: float, args: tuple[str, ...] = _READ_ARGS) -> bytes:
        """ExifTool's stdout for file ``name``, read with the options ``args``. A process
        found dead is replaced; one that dies during the read is replaced and asked once
        more (it may have been killed for a reason unrelated to this file)."""
        with self._lock:
            for _ in range(2):
                if self.process is None or self.process.poll() is not None:
                    self._start()
                answer = self._ask(name, timeout, args)
                if answer is not None:
                    return answer
            raise ExifToolFailed(f"exiftool exited while reading {Path(name).name}")

    def close(self) -> None:
        with self._lock:
            process, self.process = self.process, None
            if process is None or process.poll() is not None:
                return
            try:
                assert process.stdin is not None
                process.stdin.write(b"-stay_open\nFalse\n")
                process.stdin.close()
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self._kill(process)

    def _start(self) -> None:
        if self.process is not None:
            self._kill(self.process)
        self.process = subprocess.Popen(
            [self.executable, "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Thrown away, as the one-shot run did; a full pipe would stall ExifTool.
            stderr=subprocess.DEVNULL,
            close_fds=True,
            preexec_fn=_die_with_parent,
        )

    def _ask(self, name: str, timeout: float, args: tuple[str, ...]) -> bytes | None:
        """The answer, or None when the process ended before giving it."""
        process = self.process
        assert process is not None and process.stdin is not None and process.stdout is not None
        self._serial += 1
        marker = b"{ready%d}" % self._serial
        request = "\n".join([*args, name, f"-execute{self._serial}", ""])
        try:
            process.stdin.write(request.encode())
            process.stdin.flush()
            return self._answer(process, marker, timeout, name)
        except BrokenPipeError:
            self._kill(process)
            return None
        except BaseException:
            # A timeout, or the task interrupted mid-read (soft time limit): the process
            # may still answer this file, so it must never answer the next one.
            self._kill(process)
            raise

    def _answer(
        self, process: subprocess.Popen[bytes], marker: bytes, timeout: float, name: str
    ) -> bytes | None:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        deadline = time.monotonic() + timeout
        received = bytearray()
        while True:
            end = received.find(marker)
            if end >= 0:
                return bytes(received[:end])
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired([self.executable, name], timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    self._kill(process)
                    return None
                received += chunk

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        if self.process is process:
            self.process = None
        if process.poll() is None:
            process.kill()
        process.wait()
        close_pipes(process)


def close_pipes(process: subprocess.Popen[bytes] | None) -> None:
    """Close our ends of a child's stdin and stdout (after it has ended)."""
    for stream in (process.stdin, process.stdout) if process is not None else ():
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


# One per executable and per process.
_resident: dict[str, ResidentExifTool] = {}
_resident_lock = threading.Lock()


def resident_exiftool(executable: str) -> ResidentExifTool:
    with _resident_lock:
        if executable not in _resident:
            _resident[executable] = ResidentExifTool(executable)
        return _resident[executable]


def exiftool_close() -> None:
    """Stop this process's resident ExifTools (a worker process shutting down)."""
    with _resident_lock:
        residents = list(_resident.values())
        _resident.clear()
    for resident in residents:
        resident.close()


def _forget_after_fork() -> None:
    """In a child made by fork(): the parent's ExifTools are the parent's. Close our copies
    of their pipes (so each still ends when the parent lets go) and start our own."""
    global _resident_lock
    _resident_lock = threading.Lock()
    for resident in _resident.values():
        process, resident.process = resident.process, None
        close_pipes(process)
    _resident.clear()


os.register_at_fork(after_in_child=_forget_after_fork)

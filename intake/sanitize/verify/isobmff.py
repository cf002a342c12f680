"""Independent re-scan of a sanitized ISO base media file (MP4/MOV/3GP/M4A/HEIF/AVIF).

Written apart from the stripper and sharing none of its parsing. It accepts only what it
knows to be harmless where it stands: a box, sample entry, HEIF item or item property that
is not on the allowlist below is a finding, and so are metadata boxes anywhere, tracks that
are not audio or video, non-zero header times, handler names, non-zero 'free' payloads and
non-zero bytes in 'mdat' that no kept sample or image item points at.
"""

from __future__ import annotations

import heapq
import struct
from array import array
from collections.abc import Callable, Iterator
from typing import BinaryIO

from . import _m4v, _nal, _obu, _video
from ._icc import icc_findings

_MAX_IN_MEMORY = 64 << 20
_MAX_SPANS = 2_000_000
_MAX_UNORDERED = 250_000
_BLOCK = 1 << 20

_TOP = {b"ftyp", b"moov", b"meta", b"mdat", b"moof", b"mfra", b"sidx", b"ssix", b"styp"}
_PADDING = {b"free", b"skip"}

# Allowed children per container, padding aside.
_TREE: dict[bytes, set[bytes]] = {
    b"moov": {b"mvhd", b"trak", b"mvex", b"iods"},
    b"trak": {b"tkhd", b"edts", b"mdia", b"tref", b"tapt"},
    b"edts": {b"elst"},
    b"tapt": {b"clef", b"prof", b"enof"},
    b"mdia": {b"mdhd", b"hdlr", b"minf"},
    b"minf": {b"vmhd", b"smhd", b"nmhd", b"hdlr", b"dinf", b"stbl"},
    b"dinf": {b"dref"},
    b"stbl": set(
        b"stsd stts ctts cslg stss stps sdtp stsc stsz stz2 stco co64 sgpd sbgp subs padb "
        b"stdp stsh".split()
    ),
    b"mvex": {b"mehd", b"trex", b"leva", b"trep"},
    b"moof": {b"mfhd", b"traf"},
    b"traf": {b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio"},
    b"mfra": {b"tfra", b"mfro"},
    b"meta": {b"hdlr", b"pitm", b"iinf", b"iloc", b"iref", b"iprp", b"idat", b"dinf"},
    b"iprp": {b"ipco", b"ipma"},
}

_VIDEO_CODECS = set(
    b"avc1 avc2 avc3 avc4 hvc1 hev1 dvh1 dvhe dva1 dvav av01 vp08 vp09 mp4v s263 h263 "
    b"apcn apch apcs apco ap4h ap4x".split()
)
_AVC = set(b"avc1 avc2 avc3 avc4 dva1 dvav".split())
_HEVC = set(b"hvc1 hev1 dvh1 dvhe".split())
_AUDIO_CODECS = set(
    b"mp4a ac-3 ec-3 ac-4 Opus fLaC alac samr sawb sowt twos lpcm in24 in32 fl32 fl64 "
    b"ulaw alaw ima4 .mp3 mha1 mhm1 ipcm fpcm".split()
) | {b"raw "}
_VIDEO_ENTRY_BOXES = set(
    b"avcC hvcC av1C vpcC dvcC dvvC dvwC lhvC hvcE esds d263 colr pasp clap btrt fiel gama "
    b"mdcv clli SmDm CoLL st3d vexu hfov ccst".split()
)
_AUDIO_ENTRY_BOXES = set(
    b"esds dOps dfLa alac damr dac3 dec3 dac4 chan chnl srat btrt pcmC mhaC ddts SA3D wave".split()
)
_WAVE_BOXES = {b"frma", b"mp4a", b"esds", b"enda", b"chan", b"alac", b"\x00\x00\x00\x00"}

_IMAGE_BRANDS = set(
    b"heic heix heim heis hevc hevx hevm hevs mif1 mif2 msf1 avif avis avio".split()
)
_ITEM_TYPES = {b"hvc1", b"av01", b"grid", b"iovl", b"iden"}
_PROPERTIES = set(
    b"hvcC av1C ispe pixi colr irot imir clap pasp auxC rloc lsel a1op a1lx clli mdcv cclv "
    b"amve lhvC".split()
)
_ALPHA_URNS = {b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"}


class _Stop(Exception):
    """The file cannot be read further; the message is the finding."""


def verify(f: BinaryIO) -> list[str]:
    checker = _Checker(f)
    try:
        checker.run()
    except _Stop as exc:
        checker.findings.append(str(exc))
    except (struct.error, ValueError, IndexError, OverflowError, MemoryError) as exc:
        checker.findings.append(f"unreadable structure: {exc!r}")
    return checker.findings


def _name(t: bytes) -> str:
    return repr(t)[2:-1]


def _split(data: bytes, lo: int, hi: int, where: str) -> list[tuple[bytes, int, int, int]]:
    """(type, start, payload start, end) of each box in data[lo:hi]."""
    out: list[tuple[bytes, int, int, int]] = []
    at = lo
    while at < hi:
        if hi - at < 8:
            if data[at:hi].count(0) != hi - at:
                raise _Stop(f"{where}: stray bytes at {at}")
            break
        (length,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4 : at + 8]
        payload = at + 8
        if length == 1:
            if hi - at < 16:
                raise _Stop(f"{where}: short large box header")
            (length,) = struct.unpack_from(">Q", data, at + 8)
            payload = at + 16
        if length < payload - at or at + length > hi:
            raise _Stop(f"{where}: box {_name(kind)} has a bad size")
        out.append((kind, at, payload, at + length))
        at += length
    return out


class _Checker:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.findings: list[str] = []
        f.seek(0, 2)
        self.size = f.tell()
        f.seek(0)
        self.heif_brand = False
        self.handlers: dict[int, bytes] = {}
        self.trex_size: dict[int, int] = {}
        # Media byte ranges, one (starts, ends) pair per track, fragment run list or image.
        self.spans: list[tuple[array[int], array[int]]] = []
        self.span_count = 0
        # H.264/HEVC/AV1/MPEG-4 Part 2 tracks (see _video.Framing): samples read for user data.
        self.nal_framing: dict[int, _video.Framing] = {}
        self.mdat: list[tuple[int, int]] = []
        self.saw_moov = False
        self.saw_meta = False

    def bad(self, text: str) -> None:
        self.findings.append(text)

    def read(self, at: int, n: int) -> bytes:
        self.f.seek(at)
        data = self.f.read(n)
        if len(data) != n:
            raise _Stop(f"short read at {at}")
        return data

    def new_spans(self) -> None:
        self.spans.append((array("q"), array("q")))

    def span(self, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        starts, ends = self.spans[-1]
        if starts and ends[-1] == lo:
            ends[-1] = hi
            return
        self.span_count += 1
        if self.span_count > _MAX_SPANS:
            raise _Stop("too many sample ranges to verify")
        starts.append(lo)
        ends.append(hi)

    # ------------------------------------------------------------------ top level

    def run(self) -> None:
        top: list[tuple[bytes, int, int, int]] = []
        at = 0
        while at < self.size:
            head = self.read(at, min(16, self.size - at))
            if len(head) < 8:
                raise _Stop(f"stray bytes at end of file ({at})")
            (length,) = struct.unpack_from(">I", head)
            payload = at + 8
            if length == 1:
                (length,) = struct.unpack_from(">Q", head, 8)
                payload = at + 16
            elif length == 0:
                length = self.size - at
            if length < payload - at or at + length > self.size:
                raise _Stop(f"top-level box at {at} has a bad size")
            top.append((head[4:8], at, payload, at + length))
            at += length
        if not top or top[0][0] != b"ftyp":
            raise _Stop("file does not start with ftyp")

        for kind, start, payload, end in top:
            if kind == b"mdat":
                self.mdat.append((payload, end))
            elif kind in _PADDING:
                self.zero_region(payload, end, f"top-level {_name(kind)} at {start}")
        for index, (kind, start, payload, end) in enumerate(top):
            if kind in _PADDING:
                continue
            if kind not in _TOP:
                self.bad(f"top-level box {_name(kind)} at {start} is not allowed")
            elif kind == b"ftyp":
                if index:
                    self.bad("second ftyp box")
                self.check_ftyp(self.load(start, end), payload - start)
            elif kind == b"moov":
                self.check_moov(self.load(start, end), payload - start)
            elif kind == b"moof":
                self.check_moof(self.load(start, end), payload - start, start)
            elif kind == b"mfra":
                data = self.load(start, end)
                self.walk(data, payload - start, len(data), b"mfra", "mfra")
            elif kind == b"meta":
                self.check_meta(self.load(start, end), payload - start)
        if not self.saw_moov and not self.saw_meta:
            self.bad("neither a movie nor an image")
        self.check_gaps()

    def load(self, start: int, end: int) -> bytes:
        if end - start > _MAX_IN_MEMORY:
            raise _Stop(f"box at {start} too large to verify")
        return self.read(start, end - start)

    def zero_region(self, lo: int, hi: int, where: str) -> None:
        at = lo
        while at < hi:
            block = self.read(at, min(_BLOCK, hi - at))
            if block.count(0) != len(block):
                self.bad(f"{where}: non-zero bytes")
                return
            at += len(block)

    def check_ftyp(self, data: bytes, body: int) -> None:
        brands = [data[i : i + 4] for i in range(body, len(data) - 3, 4) if i != body + 4]
        if len(data) > 1024 or (len(data) - body) % 4 or len(brands) < 1:
            self.bad("implausible ftyp")
        for brand in brands:
            if not all(32 <= c < 127 for c in brand):
                self.bad("ftyp brand is not printable")
        self.heif_brand = bool(brands) and brands[0] in _IMAGE_BRANDS

    def walk(
        self,
        data: bytes,
        lo: int,
        hi: int,
        container: bytes,
        where: str,
        visit: Callable[[bytes, int, int, int], None] | None = None,
    ) -> dict[bytes, list[tuple[int, int, int]]]:
        """Check the children of one container against the allowlist; return them by type."""
        found: dict[bytes, list[tuple[int, int, int]]] = {}
        for kind, start, payload, end in _split(data, lo, hi, where):
            if kind in _PADDING:
                if data[payload:end].count(0) != end - payload:
                    self.bad(f"{where}/{_name(kind)}: non-zero padding")
                continue
            if kind not in _TREE[container]:
                self.bad(f"{where}/{_name(kind)} is not allowed")
                continue
            found.setdefault(kind, []).append((start, payload, end))
            if kind in _TREE and kind != b"meta":
                if visit is None:
                    self.walk(data, payload, end, kind, f"{where}/{_name(kind)}")
                else:
                    visit(kind, start, payload, end)
        return found

    # ------------------------------------------------------------------ movie

    def check_moov(self, data: bytes, body: int) -> None:
        if self.saw_moov:
            self.bad("second moov box")
        self.saw_moov = True
        kids = self.walk(data, body, len(data), b"moov", "moov", visit=lambda *a: None)
        if len(kids.get(b"mvhd", [])) != 1:
            self.bad("moov needs exactly one mvhd")
        for _start, payload, end in kids.get(b"mvhd", []):
            self.zero_times(data, payload, end, "mvhd")
        traks = kids.get(b"trak", [])
        ids: list[int] = []
        for _start, payload, end in traks:
            ids.append(self.check_trak(data, payload, end))
        if len(set(ids)) != len(ids):
            self.bad("duplicate track ids")
        for _start, payload, end in kids.get(b"mvex", []):
            mvex = self.walk(data, payload, end, b"mvex", "moov/mvex")
            for _s, p, e in mvex.get(b"trex", []):
                track, _sdi, _dur, default_size = struct.unpack_from(">IIII", data, p + 4)
                if p + 24 > e:
                    raise _Stop("short trex")
                self.trex_size[track] = default_size
        for _start, payload, end in traks:
            self.check_tref(data, payload, end)

    def zero_times(self, data: bytes, payload: int, end: int, where: str) -> None:
        version = data[payload]
        if version not in (0, 1):
            self.bad(f"{where}: unknown version")
            return
        fmt = ">QQ" if version else ">II"
        if payload + 4 + struct.calcsize(fmt) > end:
            raise _Stop(f"{where}: short box")
        created, modified = struct.unpack_from(fmt, data, payload + 4)
        if created or modified:
            self.bad(f"{where}: creation or modification time is set")

    def check_trak(self, data: bytes, lo: int, hi: int) -> int:
        kids = self.walk(data, lo, hi, b"trak", "trak", visit=lambda *a: None)
        if len(kids.get(b"tkhd", [])) != 1 or len(kids.get(b"mdia", [])) != 1:
            raise _Stop("track needs one tkhd and one mdia")
        _s, tp, te = kids[b"tkhd"][0]
        self.zero_times(data, tp, te, "tkhd")
        track_id = struct.unpack_from(">I", data, tp + (20 if data[tp] == 1 else 12))[0]
        for _s, p, e in kids.get(b"edts", []):
            self.walk(data, p, e, b"edts", "edts")
        for _s, p, e in kids.get(b"tapt", []):
            self.walk(data, p, e, b"tapt", "tapt")
        _s, mp, me = kids[b"mdia"][0]
        mdia = self.walk(data, mp, me, b"mdia", "mdia", visit=lambda *a: None)
        if len(mdia.get(b"hdlr", [])) != 1 or len(mdia.get(b"mdhd", [])) != 1:
            raise _Stop("media needs one hdlr and one mdhd")
        _s, mdhd_p, mdhd_e = mdia[b"mdhd"][0]
        self.zero_times(data, mdhd_p, mdhd_e, "mdhd")
        _s, hp, he = mdia[b"hdlr"][0]
        handler = self.check_hdlr(data, hp, he, "mdia/hdlr")
        allowed = {b"vide", b"soun"} | ({b"pict"} if self.heif_brand else set())
        if handler not in allowed:
            self.bad(f"track {track_id} has handler {_name(handler)}")
        self.handlers[track_id] = handler
        if len(mdia.get(b"minf", [])) != 1:
            raise _Stop("media needs one minf")
        _s, np_, ne = mdia[b"minf"][0]
        minf = self.walk(data, np_, ne, b"minf", "minf", visit=lambda *a: None)
        for _s, p, e in minf.get(b"hdlr", []):
            self.check_hdlr(data, p, e, "minf/hdlr")
        for _s, p, e in minf.get(b"dinf", []):
            dinf = self.walk(data, p, e, b"dinf", "dinf")
            for _s2, dp, de in dinf.get(b"dref", []):
                self.check_dref(data, dp, de)
        if len(minf.get(b"stbl", [])) != 1:
            raise _Stop("media needs one stbl")
        _s, sp, se = minf[b"stbl"][0]
        stbl = self.walk(data, sp, se, b"stbl", "stbl")
        if not stbl.get(b"stsd"):
            self.bad(f"track {track_id} has no sample description")
        for _s, p, e in stbl.get(b"stsd", []):
            framing = self.check_stsd(data, p, e, handler)
            if framing is not None:
                self.nal_framing[int(track_id)] = framing
        self.track_spans(data, stbl, self.nal_framing.get(int(track_id)))
        return int(track_id)

    def check_colr(self, data: bytes, lo: int, hi: int) -> None:
        if data[lo : lo + 4] in (b"prof", b"rICC"):
            for finding in icc_findings(data[lo + 4 : hi]):
                self.bad(f"colr: {finding}")

    def read_at(self, pos: int, n: int) -> bytes:
        self.f.seek(pos)
        return self.f.read(n)

    def check_nals(self, framing: _video.Framing | None, start: int, size: int) -> None:
        if framing is not None:
            for finding in _video.run_findings(framing, self.read_at, start, size)[:3]:
                self.bad(finding)

    def check_hdlr(self, data: bytes, lo: int, hi: int, where: str) -> bytes:
        if lo + 24 > hi:
            raise _Stop(f"{where}: short box")
        if data[lo + 24 : hi].count(0) != hi - lo - 24:
            self.bad(f"{where}: handler name is not empty")
        return data[lo + 8 : lo + 12]

    def check_dref(self, data: bytes, lo: int, hi: int) -> None:
        for kind, _start, payload, end in _split(data, lo + 8, hi, "dref"):
            (flags,) = struct.unpack_from(">I", data, payload)
            if kind not in (b"url ", b"urn ", b"alis") or not flags & 1:
                self.bad(f"dref entry {_name(kind)} points outside the file")
            elif data[payload + 4 : end].count(0) != end - payload - 4:
                self.bad("dref entry carries text")

    def check_stsd(self, data: bytes, lo: int, hi: int, handler: bytes) -> _video.Framing | None:
        framing: _video.Framing | None = None
        for kind, _start, payload, end in _split(data, lo + 8, hi, "stsd"):
            if handler == b"soun":
                if kind not in _AUDIO_CODECS:
                    self.bad(f"audio sample entry {_name(kind)} is not allowed")
                    continue
                (version,) = struct.unpack_from(">H", data, payload + 8)
                starts = {0: [28], 1: [44, 28], 2: [64]}.get(version, [])
                boxes = None
                for skip in starts:
                    try:
                        boxes = _split(data, payload + skip, end, "audio entry")
                        break
                    except _Stop:
                        continue
                if boxes is None:
                    self.bad(f"audio sample entry {_name(kind)} cannot be read")
                    continue
                allowed = _AUDIO_ENTRY_BOXES
            else:
                if kind not in _VIDEO_CODECS:
                    self.bad(f"video sample entry {_name(kind)} is not allowed")
                    continue
                if data[payload + 42 : payload + 74].count(0) != 32:
                    self.bad("compressor name is set")
                boxes = _split(data, payload + 78, end, "video entry")
                allowed = _VIDEO_ENTRY_BOXES
            for child, _s, cp, ce in boxes:
                if (child == b"avcC" and kind in _AVC) or (
                    child in (b"hvcC", b"lhvC") and kind in _HEVC
                ):
                    if child == b"avcC":
                        size, found = _nal.avcc_findings(data[cp:ce])
                    else:
                        size, found = _nal.hvcc_findings(data[cp:ce], child == b"lhvC")
                    for finding in found:
                        self.bad(f"{_name(child)}: {finding}")
                    if child != b"lhvC" or framing is None:
                        framing = ("avc" if child == b"avcC" else "hevc", size)
                if (child, kind) in ((b"av1C", b"av01"), (b"esds", b"mp4v")):
                    found = (_obu.av1c_findings if kind == b"av01" else _m4v.esds_findings)(
                        data[cp:ce]
                    )
                    for finding in found:
                        self.bad(f"{_name(child)}: {finding}")
                    framing = ("av1" if kind == b"av01" else "mp4v", 0)
                if child == b"colr":
                    self.check_colr(data, cp, ce)
                if child in _PADDING:
                    if data[cp:ce].count(0) != ce - cp:
                        self.bad("non-zero padding in a sample entry")
                elif child not in allowed:
                    self.bad(f"sample entry box {_name(child)} is not allowed")
                elif child == b"wave":
                    for grandchild, _s2, gp, ge in _split(data, cp, ce, "wave"):
                        if grandchild in _PADDING:
                            if data[gp:ge].count(0) != ge - gp:
                                self.bad("non-zero padding in wave")
                        elif grandchild not in _WAVE_BOXES:
                            self.bad(f"wave box {_name(grandchild)} is not allowed")
            if kind in _AVC | _HEVC | {b"av01", b"mp4v"} and framing is None:
                self.bad(f"{_name(kind)} sample entry without its configuration record")
        return framing

    def check_tref(self, data: bytes, lo: int, hi: int) -> None:
        for kind, _start, payload, end in _split(data, lo, hi, "trak"):
            if kind != b"tref":
                continue
            for ref, _s, rp, re_ in _split(data, payload, end, "tref"):
                if ref in _PADDING:
                    continue
                for i in range(rp, re_ - 3, 4):
                    (target,) = struct.unpack_from(">I", data, i)
                    if target not in self.handlers:
                        self.bad(f"tref {_name(ref)} points at missing track {target}")

    def track_spans(
        self,
        data: bytes,
        stbl: dict[bytes, list[tuple[int, int, int]]],
        framing: _video.Framing | None,
    ) -> None:
        """Mark every chunk of a kept track as media bytes."""
        chunk_box = stbl.get(b"stco") or stbl.get(b"co64")
        sizes_box = stbl.get(b"stsz") or stbl.get(b"stz2")
        stsc_box = stbl.get(b"stsc")
        if not chunk_box and not sizes_box and not stsc_box:
            return
        if not chunk_box or not sizes_box or not stsc_box:
            raise _Stop("incomplete sample table")
        _s, cp, ce = chunk_box[0]
        wide = data[cp - 4 : cp] == b"co64"
        (n_chunks,) = struct.unpack_from(">I", data, cp + 4)
        step = 8 if wide else 4
        if cp + 8 + n_chunks * step > ce:
            raise _Stop("chunk offsets overflow their box")
        self.new_spans()
        chunk_at: Callable[[int], int] = lambda i: struct.unpack_from(  # noqa: E731
            ">Q" if wide else ">I", data, cp + 8 + i * step
        )[0]

        _s, zp, ze = sizes_box[0]
        compact = data[zp - 4 : zp] == b"stz2"
        fixed = 0
        if compact:
            field_bits = data[zp + 7]
            (n_samples,) = struct.unpack_from(">I", data, zp + 8)
            if field_bits not in (4, 8, 16) or zp + 12 + (n_samples * field_bits + 7) // 8 > ze:
                raise _Stop("bad stz2")
        else:
            fixed, n_samples = struct.unpack_from(">II", data, zp + 4)
            if not fixed and zp + 12 + 4 * n_samples > ze:
                raise _Stop("sample sizes overflow their box")
            field_bits = 32

        def size_of(i: int) -> int:
            if fixed:
                return fixed
            if field_bits == 32:
                return int(struct.unpack_from(">I", data, zp + 12 + 4 * i)[0])
            if field_bits == 16:
                return int(struct.unpack_from(">H", data, zp + 12 + 2 * i)[0])
            if field_bits == 8:
                return data[zp + 12 + i]
            byte = data[zp + 12 + i // 2]
            return byte >> 4 if i % 2 == 0 else byte & 0xF

        _s, sp, se = stsc_box[0]
        (n_runs,) = struct.unpack_from(">I", data, sp + 4)
        if sp + 8 + 12 * n_runs > se:
            raise _Stop("sample-to-chunk overflows its box")
        runs = [struct.unpack_from(">III", data, sp + 8 + 12 * r)[:2] for r in range(n_runs)]
        sample = 0
        for r, (first, per_chunk) in enumerate(runs):
            stop = runs[r + 1][0] if r + 1 < n_runs else n_chunks + 1
            if first < 1 or (stop <= first and r + 1 < n_runs):
                raise _Stop("sample-to-chunk out of order")
            for chunk in range(first, min(stop, n_chunks + 1)):
                if sample + per_chunk > n_samples:
                    raise _Stop("more samples in chunks than in the size table")
                if fixed:
                    length = per_chunk * fixed
                else:
                    length = sum(size_of(i) for i in range(sample, sample + per_chunk))
                sample += per_chunk
                lo = chunk_at(chunk - 1)
                self.span(lo, lo + length)
                self.check_nals(framing, lo, length)

    # ------------------------------------------------------------------ fragments

    def check_moof(self, data: bytes, body: int, moof_at: int) -> None:
        if not self.saw_moov:
            self.bad("fragment before moov")
        kids = self.walk(data, body, len(data), b"moof", "moof", visit=lambda *a: None)
        self.new_spans()
        previous_end = moof_at
        for _s, p, e in kids.get(b"traf", []):
            traf = self.walk(data, p, e, b"traf", "traf")
            if len(traf.get(b"tfhd", [])) != 1:
                raise _Stop("traf needs one tfhd")
            _s2, hp, _he = traf[b"tfhd"][0]
            flags, track = struct.unpack_from(">II", data, hp)
            flags &= 0xFFFFFF
            if self.handlers.get(track) is None:
                self.bad(f"fragment of unknown or removed track {track}")
            at = hp + 8
            if flags & 0x1:
                (base,) = struct.unpack_from(">Q", data, at)
                at += 8
            elif flags & 0x20000:
                base = moof_at
            else:
                base = previous_end
            at += 4 if flags & 0x2 else 0
            at += 4 if flags & 0x8 else 0
            default = self.trex_size.get(track, 0)
            if flags & 0x10:
                (default,) = struct.unpack_from(">I", data, at)
            cursor = base
            for _s3, rp, re_ in traf.get(b"trun", []):
                rflags, count = struct.unpack_from(">II", data, rp)
                rflags &= 0xFFFFFF
                at = rp + 8
                if rflags & 0x1:
                    (delta,) = struct.unpack_from(">i", data, at)
                    cursor = base + delta
                    at += 4
                if rflags & 0x4:
                    at += 4
                width = 4 * bin(rflags & 0xF00).count("1")
                if at + count * width > re_:
                    raise _Stop("trun overflows its box")
                if rflags & 0x200:
                    pos = 4 * bin(rflags & 0x100).count("1")
                    total = sum(
                        struct.unpack_from(">I", data, at + i * width + pos)[0]
                        for i in range(count)
                    )
                else:
                    total = count * default
                self.span(cursor, cursor + total)
                self.check_nals(self.nal_framing.get(track), cursor, total)
                cursor += total
            previous_end = cursor

    # ------------------------------------------------------------------ HEIF

    def check_meta(self, data: bytes, body: int) -> None:
        if self.saw_meta:
            self.bad("second top-level meta")
        self.saw_meta = True
        kids = self.walk(data, body + 4, len(data), b"meta", "meta", visit=lambda *a: None)
        hdlrs = kids.get(b"hdlr", [])
        if len(hdlrs) != 1 or self.check_hdlr(data, hdlrs[0][1], hdlrs[0][2], "meta") != b"pict":
            raise _Stop("top-level meta is not an image description")
        for name in (b"pitm", b"iinf", b"iloc", b"iprp"):
            if len(kids.get(name, [])) != 1:
                raise _Stop(f"meta needs one {_name(name)}")
        for _s, p, e in kids.get(b"dinf", []):
            for _s2, dp, de in self.walk(data, p, e, b"dinf", "meta/dinf").get(b"dref", []):
                self.check_dref(data, dp, de)

        _s, pp, _pe = kids[b"pitm"][0]
        primary = struct.unpack_from(">I" if data[pp] else ">H", data, pp + 4)[0]

        items = self.read_items(data, *kids[b"iinf"][0][1:])
        if primary not in items:
            raise _Stop("primary item is missing")
        props, assoc = self.read_properties(data, *kids[b"iprp"][0][1:])
        links: list[tuple[bytes, int, list[int]]] = []
        for _s, p, e in kids.get(b"iref", []):
            links += self.read_links(data, p, e)

        self.check_reach(primary, items, links)
        self.check_alpha(data, items, props, assoc, links)
        idat = kids.get(b"idat", [])
        idat_lo, idat_hi = (idat[0][1], idat[0][2]) if idat else (0, 0)
        kept_idat = self.read_locations(data, *kids[b"iloc"][0][1:], items, idat_lo, idat_hi)
        kept_idat.sort()
        at = idat_lo
        for lo, hi in [*kept_idat, (idat_hi, idat_hi)]:
            if data[at:lo].count(0) != max(0, lo - at):
                self.bad("idat holds bytes no item uses")
            at = max(at, hi)

    def check_reach(
        self, primary: int, items: dict[int, bytes], links: list[tuple[bytes, int, list[int]]]
    ) -> None:
        """Every item must be the primary image, an input of it, or an alpha plane of one."""
        reach = {primary}
        grew = True
        while grew:
            grew = False
            for kind, src, targets in links:
                new: set[int] = set()
                if kind == b"dimg" and src in reach:
                    new = set(targets)
                elif kind == b"auxl" and reach.intersection(targets):
                    new = {src}
                if not new <= reach:
                    reach |= new
                    grew = True
        for item in items:
            if item not in reach:
                self.bad(f"item {item} is not part of the primary image")

    def check_alpha(
        self,
        data: bytes,
        items: dict[int, bytes],
        props: list[tuple[bytes, int, int]],
        assoc: dict[int, list[int]],
        links: list[tuple[bytes, int, list[int]]],
    ) -> None:
        """Auxiliary images and properties may only be alpha planes."""

        def aux_urn(item: int) -> bytes | None:
            for index in assoc.get(item, []):
                kind, pp2, pe2 = props[index - 1]
                if kind == b"auxC":
                    return data[pp2 + 4 : pe2].split(b"\x00")[0]
            return None

        for kind, src, _targets in links:
            if kind == b"auxl" and aux_urn(src) not in _ALPHA_URNS:
                self.bad(f"auxiliary item {src} is not an alpha plane")
        for item, indices in assoc.items():
            if item not in items:
                self.bad(f"properties for missing item {item}")
            for index in indices:
                kind, pp2, pe2 = props[index - 1]
                if kind == b"auxC" and data[pp2 + 4 : pe2].split(b"\x00")[0] not in _ALPHA_URNS:
                    self.bad("auxiliary image property that is not alpha")

    def read_items(self, data: bytes, lo: int, hi: int) -> dict[int, bytes]:
        version = data[lo]
        count = struct.unpack_from(">H" if version == 0 else ">I", data, lo + 4)[0]
        entries = _split(data, lo + (6 if version == 0 else 8), hi, "iinf")
        items: dict[int, bytes] = {}
        for kind, _s, p, e in entries:
            if kind != b"infe":
                self.bad(f"iinf holds {_name(kind)}")
                continue
            v = data[p]
            if v not in (2, 3):
                self.bad("item without a type")
                continue
            id_fmt = ">I" if v == 3 else ">H"
            (item,) = struct.unpack_from(id_fmt, data, p + 4)
            at = p + 4 + struct.calcsize(id_fmt)
            (protection,) = struct.unpack_from(">H", data, at)
            kind_of = data[at + 2 : at + 6]
            rest = data[at + 6 : e]
            if kind_of not in _ITEM_TYPES:
                self.bad(f"item {item} of type {_name(kind_of)}")
            if protection:
                self.bad(f"item {item} is protected")
            if rest.count(0) != len(rest):
                self.bad(f"item {item} has a name")
            if item in items:
                self.bad(f"duplicate item {item}")
            items[item] = kind_of
        if count != len(entries):
            self.bad("iinf count is wrong")
        return items

    def read_properties(
        self, data: bytes, lo: int, hi: int
    ) -> tuple[list[tuple[bytes, int, int]], dict[int, list[int]]]:
        kids = self.walk(data, lo, hi, b"iprp", "iprp", visit=lambda *a: None)
        if len(kids.get(b"ipco", [])) != 1:
            raise _Stop("iprp needs one ipco")
        _s, cp, ce = kids[b"ipco"][0]
        props: list[tuple[bytes, int, int]] = []
        for kind, _s2, p, e in _split(data, cp, ce, "ipco"):
            if kind not in _PROPERTIES:
                self.bad(f"item property {_name(kind)} is not allowed")
            elif kind == b"colr":
                self.check_colr(data, p, e)
            elif kind in (b"hvcC", b"lhvC"):
                for finding in _nal.hvcc_findings(data[p:e], kind == b"lhvC")[1]:
                    self.bad(f"item property {_name(kind)}: {finding}")
            elif kind == b"av1C":
                for finding in _obu.av1c_findings(data[p:e]):
                    self.bad(f"item property av1C: {finding}")
            props.append((kind, p, e))
        assoc: dict[int, list[int]] = {}
        for _s, p, _e in kids.get(b"ipma", []):
            version, flags = data[p], int.from_bytes(data[p + 1 : p + 4], "big")
            (count,) = struct.unpack_from(">I", data, p + 4)
            at = p + 8
            for _ in range(count):
                id_fmt = ">H" if version == 0 else ">I"
                (item,) = struct.unpack_from(id_fmt, data, at)
                at += struct.calcsize(id_fmt)
                n = data[at]
                at += 1
                for _ in range(n):
                    if flags & 1:
                        index = struct.unpack_from(">H", data, at)[0] & 0x7FFF
                        at += 2
                    else:
                        index = data[at] & 0x7F
                        at += 1
                    if index == 0:
                        continue
                    if index > len(props):
                        raise _Stop("property index out of range")
                    assoc.setdefault(item, []).append(index)
        return props, assoc

    def read_links(self, data: bytes, lo: int, hi: int) -> list[tuple[bytes, int, list[int]]]:
        id_fmt = ">H" if data[lo] == 0 else ">I"
        width = struct.calcsize(id_fmt)
        links: list[tuple[bytes, int, list[int]]] = []
        for kind, _s, p, e in _split(data, lo + 4, hi, "iref"):
            if kind not in (b"dimg", b"auxl"):
                self.bad(f"item reference {_name(kind)} is not allowed")
            (src,) = struct.unpack_from(id_fmt, data, p)
            (n,) = struct.unpack_from(">H", data, p + width)
            if p + width + 2 + n * width > e:
                raise _Stop("iref overflows its box")
            targets = [
                struct.unpack_from(id_fmt, data, p + width + 2 + i * width)[0] for i in range(n)
            ]
            links.append((kind, src, targets))
        return links

    def read_locations(
        self,
        data: bytes,
        lo: int,
        hi: int,
        items: dict[int, bytes],
        idat_lo: int,
        idat_hi: int,
    ) -> list[tuple[int, int]]:
        """Mark item bytes in mdat as media; return the idat byte ranges items use."""
        version = data[lo]
        fields = struct.unpack_from(">H", data, lo + 4)[0]
        off_n, len_n, base_n = fields >> 12, (fields >> 8) & 0xF, (fields >> 4) & 0xF
        idx_n = fields & 0xF if version else 0
        id_fmt = ">H" if version < 2 else ">I"
        id_n = struct.calcsize(id_fmt)
        (count,) = struct.unpack_from(id_fmt, data, lo + 6)
        at = lo + 6 + id_n

        def number(n: int) -> int:
            nonlocal at
            if at + n > hi:
                raise _Stop("iloc overflows its box")
            value = int.from_bytes(data[at : at + n], "big")
            at += n
            return value

        def in_meta(pos: int, n: int) -> bytes:
            return data[pos : pos + n]

        in_idat: list[tuple[int, int]] = []
        self.new_spans()
        for _ in range(count):
            item = number(id_n)
            method = number(2) & 0xF if version else 0
            reference = number(2)
            base = number(base_n)
            for _ in range(number(2)):
                number(idx_n)
                offset = number(off_n)
                length = number(len_n)
                if item not in items:
                    self.bad(f"location for missing item {item}")
                    continue
                if reference or method not in (0, 1) or length == 0:
                    self.bad(f"item {item} data is not plainly in this file")
                    continue
                read, start = self.read_at, base + offset
                if method == 0:
                    self.span(start, start + length)
                else:
                    read, start = in_meta, idat_lo + base + offset
                    if start + length > idat_hi:
                        raise _Stop("item data runs past idat")
                    in_idat.append((start, start + length))
                if items[item] == b"av01":  # AV1 image: no metadata OBU but display ones
                    for finding in _obu.obu_findings(read, start, length)[:3]:
                        self.bad(f"AV1 item {item}: {finding}")
        return in_idat

    # ------------------------------------------------------------------ media data

    def ordered_spans(self) -> Iterator[tuple[int, int]]:
        """Every media range, by start offset."""
        streams: list[Iterator[tuple[int, int]]] = []
        for lo, hi in self.spans:
            pairs: Iterator[tuple[int, int]] = zip(lo, hi, strict=True)
            if any(lo[i] > lo[i + 1] for i in range(len(lo) - 1)):
                if len(lo) > _MAX_UNORDERED:
                    raise _Stop("too many chunks out of order to verify")
                pairs = iter(sorted(pairs))
            streams.append(pairs)
        return heapq.merge(*streams)

    def check_gaps(self) -> None:
        """Kept samples must sit in mdat; every other mdat byte must be zero."""
        spans = self.ordered_spans()
        pending = next(spans, None)
        for start, end in self.mdat:
            at = start
            while pending is not None and pending[0] < end:
                s, e = pending
                if s < start or e > end:
                    self.bad(f"sample data at {s} is outside mdat")
                    return
                if s > at:
                    self.zero_region(at, s, f"mdat bytes {at}-{s} not used by any kept media")
                at = max(at, e)
                pending = next(spans, None)
            if at < end:
                self.zero_region(at, end, f"mdat bytes {at}-{end} not used by any kept media")
        if pending is not None:
            self.bad(f"sample data at {pending[0]} is outside mdat")

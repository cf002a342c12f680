"""Hand-built ISO BMFF pieces for tests: what ffmpeg and ExifTool cannot plant.

Works on files whose moov is the last box (ffmpeg's default), so moov can be rebuilt
at any size without moving a single chunk offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

# The planted location (as the shared samples use it) in its binary encodings.
LAT, LON = 42.2626, -71.8023
GPMF_LAT = struct.pack(">i", round(LAT * 1e7))
GPMF_LON = struct.pack(">i", round(LON * 1e7))
LOCI_LAT = struct.pack(">i", int(LAT * 65536))
LOCI_LON = struct.pack(">i", int(LON * 65536))
# 2023-07-04T17:37:42Z in seconds since 1904 (QuickTime epoch).
CANARY_TIME = 3771337062
ISO6709 = b"+42.2626-071.8023+150.000/"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


@dataclass
class Node:
    kind: bytes
    payload: bytes = b""
    children: list[Node] | None = None
    prefix: bytes = b""  # bytes before the children (e.g. version/flags of a full box)

    def encode(self) -> bytes:
        if self.children is None:
            return box(self.kind, self.payload)
        return box(self.kind, self.prefix + b"".join(c.encode() for c in self.children))

    def find(self, *path: bytes) -> Node:
        node = self
        for kind in path:
            assert node.children is not None
            node = next(c for c in node.children if c.kind == kind)
        return node

    def all(self, kind: bytes) -> list[Node]:
        return [c for c in self.children or [] if c.kind == kind]


CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex"}


def parse(data: bytes, lo: int = 0, hi: int | None = None) -> list[Node]:
    """Boxes of data[lo:hi]; containers above are parsed into children."""
    hi = len(data) if hi is None else hi
    out: list[Node] = []
    at = lo
    while at < hi:
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, at + 8)
            head = 16
        elif size == 0:
            size = hi - at
        body = data[at + head : at + size]
        if kind in CONTAINERS:
            out.append(Node(kind, children=parse(body)))
        else:
            out.append(Node(kind, payload=body))
        at += size
    return out


@dataclass
class Movie:
    """A file split into what precedes moov, and moov itself (which must be last)."""

    head: bytes
    moov: Node
    extra_mdat: bytearray = field(default_factory=bytearray)
    trailer: list[bytes] = field(default_factory=list)

    @classmethod
    def load(cls, data: bytes) -> Movie:
        boxes = parse(data)
        assert boxes[-1].kind == b"moov", "moov must be the last box"
        moov_size = len(boxes[-1].encode())
        return cls(head=data[: len(data) - moov_size], moov=boxes[-1])

    def add_samples(self, samples: list[bytes]) -> list[int]:
        """Place samples in a second mdat written after the original data; their offsets."""
        base = len(self.head) + 8 + len(self.extra_mdat)
        offsets = []
        for sample in samples:
            offsets.append(base)
            base += len(sample)
            self.extra_mdat += sample
        return offsets

    def encode(self) -> bytes:
        mdat = box(b"mdat", bytes(self.extra_mdat)) if self.extra_mdat else b""
        return self.head + mdat + self.moov.encode() + b"".join(self.trailer)

    def traks(self) -> list[Node]:
        return self.moov.all(b"trak")

    def handler_of(self, trak: Node) -> bytes:
        return trak.find(b"mdia", b"hdlr").payload[8:12]

    def next_track_id(self) -> int:
        ids = [int(struct.unpack_from(">I", t.find(b"tkhd").payload, 12)[0]) for t in self.traks()]
        return 1 + max(ids)


def tkhd(track_id: int, when: int = CANARY_TIME) -> Node:
    matrix = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    payload = struct.pack(">IIIII", when, when, track_id, 0, 1000) + bytes(8)
    payload += struct.pack(">hhhH", 0, 0, 0, 0) + matrix + struct.pack(">II", 0, 0)
    return Node(b"tkhd", b"\x00\x00\x00\x07" + payload)


def data_trak(
    track_id: int,
    handler: bytes,
    entry: bytes,
    offsets: list[int],
    sizes: list[int],
    name: bytes = b"CANARY handler",
    extra: list[Node] | None = None,
) -> Node:
    """A timed-metadata track (GPMF, camm, mebx, subtitles, timecode) with its samples."""
    n = len(sizes)
    mdhd = struct.pack(">IIIIHH", CANARY_TIME, CANARY_TIME, 1000, 1000, 0x55C4, 0)
    hdlr = bytes(8) + handler + bytes(12) + name + b"\x00"
    dref = full(b"dref", 0, 0, struct.pack(">I", 1) + full(b"url ", 0, 1, b""))
    stbl = Node(
        b"stbl",
        children=[
            Node(b"stsd", bytes(4) + struct.pack(">I", 1) + entry),
            Node(b"stts", bytes(4) + struct.pack(">III", 1, n, 1000 // max(n, 1))),
            Node(b"stsc", bytes(4) + struct.pack(">IIII", 1, 1, 1, 1)),
            Node(b"stsz", bytes(4) + struct.pack(">II", 0, n) + struct.pack(f">{n}I", *sizes)),
            Node(b"stco", bytes(4) + struct.pack(">I", n) + struct.pack(f">{n}I", *offsets)),
        ],
    )
    minf = Node(
        b"minf",
        children=[
            Node(b"nmhd", bytes(4)),
            Node(b"dinf", children=[Node(b"dref", dref[8:])]),
            stbl,
        ],
    )
    mdia = Node(
        b"mdia",
        children=[Node(b"mdhd", bytes(4) + mdhd), Node(b"hdlr", hdlr), minf],
    )
    return Node(b"trak", children=[tkhd(track_id), mdia, *(extra or [])])


def sample_entry(fmt: bytes, body: bytes = b"") -> bytes:
    return box(fmt, bytes(6) + b"\x00\x01" + body)


def gpmf_sample(i: int) -> bytes:
    """A GoPro GPMF-like KLV record: device name, serial and GPS5 as int32 * 1e7."""
    return (
        b"DVNM" + b"c\x01\x00\x10" + b"CANARY HERO12   "
        + b"CASN" + b"c\x01\x00\x10" + b"CANARY-SERIAL-01"
        + b"GPS5" + b"l\x14\x00\x01" + GPMF_LAT + GPMF_LON + struct.pack(">iii", 150000, 0, i)
    )  # fmt: skip


def camm_sample() -> bytes:
    """Google camm type 6 (position): lat/lon as doubles, plus the int encodings."""
    return struct.pack(">HH", 0, 6) + struct.pack("<ddd", LAT, LON, 150.0) + GPMF_LAT + GPMF_LON


def keys_meta(pairs: list[tuple[bytes, bytes]], full_box: bool = False) -> Node:
    """moov/meta in QuickTime keys/ilst form (UTF-8 values)."""
    keys = struct.pack(">I", len(pairs)) + b"".join(box(b"mdta", name) for name, _v in pairs)
    items = b"".join(
        box(
            struct.pack(">I", i),
            box(b"data", struct.pack(">II", 1, 0) + value),
        )
        for i, (_name, value) in enumerate(pairs, start=1)
    )
    hdlr = bytes(8) + b"mdta" + bytes(13)
    children = [Node(b"hdlr", hdlr), Node(b"keys", bytes(4) + keys), Node(b"ilst", items)]
    return Node(b"meta", children=children, prefix=bytes(4) if full_box else b"")


def loci() -> bytes:
    body = bytes(4) + b"\x15\xc7" + b"CANARY place\x00" + b"\x00"
    body += LOCI_LON + LOCI_LAT + struct.pack(">i", 150 << 16) + b"earth\x00" + b"CANARY\x00"
    return box(b"loci", body)


def qt_text(kind: bytes, text: bytes) -> bytes:
    return box(kind, struct.pack(">HH", len(text), 0x55C4) + text)


XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="42,15.756N" '
    b'exif:GPSLongitude="71,48.138W" exif:SerialNumber="CANARY-SN"/></rdf:RDF></x:xmpmeta>'
    b'<?xpacket end="w"?>'
)
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")


def with_v1_headers(moov: Node) -> None:
    """Rewrite mvhd, tkhd and mdhd as version 1 (64-bit times), times set to the canary."""
    for node in [moov.find(b"mvhd"), *[t.find(b"tkhd") for t in moov.all(b"trak")]]:
        p = node.payload
        when = struct.pack(">QQ", CANARY_TIME, CANARY_TIME)
        if node.kind == b"mvhd":
            scale, duration = struct.unpack_from(">II", p, 12)
            node.payload = b"\x01" + p[1:4] + when + struct.pack(">IQ", scale, duration) + p[20:]
        else:
            track, _r, duration = struct.unpack_from(">III", p, 12)
            node.payload = (
                b"\x01" + p[1:4] + when + struct.pack(">IIQ", track, 0, duration) + p[24:]
            )
    for trak in moov.all(b"trak"):
        node = trak.find(b"mdia", b"mdhd")
        p = node.payload
        scale, duration = struct.unpack_from(">II", p, 12)
        when = struct.pack(">QQ", CANARY_TIME, CANARY_TIME)
        node.payload = b"\x01" + p[1:4] + when + struct.pack(">IQ", scale, duration) + p[20:]


def with_co64(moov: Node) -> None:
    """Turn every stco into co64 (same offsets, 64-bit)."""
    for trak in moov.all(b"trak"):
        stbl = trak.find(b"mdia", b"minf", b"stbl")
        assert stbl.children is not None
        for i, node in enumerate(stbl.children):
            if node.kind == b"stco":
                (n,) = struct.unpack_from(">I", node.payload, 4)
                offsets = struct.unpack_from(f">{n}I", node.payload, 8)
                payload = bytes(4) + struct.pack(f">I{n}Q", n, *offsets)
                stbl.children[i] = Node(b"co64", payload)


# --------------------------------------------------------------------------- HEIF


@dataclass
class HeifItem:
    item_id: int
    kind: bytes
    data: bytes
    props: list[tuple[bool, bytes]] = field(default_factory=list)  # (essential, property box)
    name: bytes = b""
    content_type: bytes = b""
    hidden: bool = False


def heif(
    items: list[HeifItem],
    primary: int,
    refs: list[tuple[bytes, int, list[int]]],
    brand: bytes = b"heic",
) -> bytes:
    """A HEIF file: ftyp, meta (iloc v1 with absolute offsets), one mdat holding every item."""

    def build(mdat_at: int) -> bytes:
        infes = []
        for it in items:
            payload = struct.pack(">HH", it.item_id, 0) + it.kind + it.name + b"\x00"
            if it.kind == b"mime":
                payload += it.content_type + b"\x00"
            infes.append(full(b"infe", 2, 1 if it.hidden else 0, payload))
        iinf = full(b"iinf", 0, 0, struct.pack(">H", len(items)) + b"".join(infes))
        iloc = bytearray(b"\x44\x00" + struct.pack(">H", len(items)))
        at = mdat_at + 8
        for it in items:
            iloc += struct.pack(">HHHH", it.item_id, 0, 0, 1) + struct.pack(">II", at, len(it.data))
            at += len(it.data)
        props: list[bytes] = []
        ipma = bytearray(struct.pack(">I", len(items)))
        for it in items:
            ipma += struct.pack(">HB", it.item_id, len(it.props))
            for essential, prop in it.props:
                if prop not in props:
                    props.append(prop)
                ipma += bytes([(0x80 if essential else 0) | (props.index(prop) + 1)])
        iprp = box(b"iprp", box(b"ipco", b"".join(props)) + full(b"ipma", 0, 0, bytes(ipma)))
        iref = b"".join(
            box(kind, struct.pack(">HH", src, len(dst)) + struct.pack(f">{len(dst)}H", *dst))
            for kind, src, dst in refs
        )
        children = [
            full(b"hdlr", 0, 0, bytes(4) + b"pict" + bytes(12) + b"CANARY\x00"),
            full(b"pitm", 0, 0, struct.pack(">H", primary)),
            iinf,
            full(b"iloc", 1, 0, bytes(iloc)),
            full(b"iref", 0, 0, iref) if refs else b"",
            iprp,
        ]
        return full(b"meta", 0, 0, b"".join(children))

    ftyp = box(b"ftyp", brand + bytes(4) + b"mif1" + brand + b"miaf")
    meta = build(0)
    meta = build(len(ftyp) + len(meta))
    mdat = box(b"mdat", b"".join(it.data for it in items))
    return ftyp + meta + mdat


def exif_blob() -> bytes:
    """A HEIF Exif item: 4-byte offset, then big-endian TIFF with Orientation 6, capture
    date with its offset, and a GPS IFD."""
    date, offset = b"2023:07:04 13:37:42\x00", b"-04:00\x00\x00"
    ifd0, exif_ifd = 8, 50  # IFD0: 2 + 3 * 12 + 4 bytes
    date_at, offset_at, gps_at = 80, 100, 108  # ExifIFD: 2 + 2 * 12 + 4 bytes
    lat_at = gps_at + 2 + 2 * 12 + 4
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd0)
    tiff += struct.pack(">H", 3)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    tiff += struct.pack(">HHII", 0x8769, 4, 1, exif_ifd)
    tiff += struct.pack(">HHII", 0x8825, 4, 1, gps_at) + bytes(4)
    tiff += struct.pack(">H", 2)
    tiff += struct.pack(">HHII", 0x9003, 2, len(date), date_at)
    tiff += struct.pack(">HHII", 0x9011, 2, 7, offset_at) + bytes(4)
    tiff += date + offset
    tiff += struct.pack(">H", 2)
    tiff += struct.pack(">HHI", 1, 2, 2) + b"N\x00\x00\x00"
    tiff += struct.pack(">HHII", 2, 5, 3, lat_at) + bytes(4)
    tiff += struct.pack(">6I", 42, 1, 15, 1, 4536, 100)
    assert len(tiff) == lat_at + 24
    return bytes(4) + tiff


# --- HEIF built from pillow-heif's coded pictures ------------------------------------


def pil_exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "CANARY make"
    exif[0x0110] = "CANARY model"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (42.0, 15.0, 45.36), 3: "W", 4: (71.0, 48.0, 8.28)}
    return exif.tobytes()


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size)
    width, height = size
    for x in range(width):
        for y in range(height):
            value = (x * 5 % 256, y * 7 % 256, (x + y) % 256)
            image.putpixel((x, y), (*value, x * 3 % 256) if mode == "RGBA" else value)
    return image


def heif_pixels(path: Path) -> tuple[tuple[int, int], bytes]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    with Image.open(path) as image:
        image.load()
        return image.size, image.tobytes()


def coded_item(image: Image.Image, media_dir: Path, name: str) -> tuple[bytes, list[bytes]]:
    """Coded HEVC bytes and the properties (hvcC, ispe...) of a pillow-heif image."""
    import pillow_heif

    path = media_dir / name
    pillow_heif.from_pillow(image).save(path, quality=90)
    data = path.read_bytes()
    top = parse(data)
    meta = next(b for b in top if b.kind == b"meta").payload
    inner = parse(meta, 4)
    iprp = next(b for b in inner if b.kind == b"iprp").payload
    ipco = next(b for b in parse(iprp) if b.kind == b"ipco").payload
    kinds = (b"hvcC", b"ispe", b"clap", b"colr", b"pixi")
    props = [n.encode() for n in parse(ipco) if n.kind in kinds]
    mdat = next(b for b in top if b.kind == b"mdat").payload
    return mdat, props


def hand_built_heic(media_dir: Path, extra_prop: tuple[bool, bytes] | None = None) -> bytes:
    primary, primary_props = coded_item(gradient((64, 48)), media_dir, "primary.heic")
    thumb, thumb_props = coded_item(gradient((16, 12)), media_dir, "thumb.heic")
    irot = box(b"irot", b"\x01")  # a quarter turn anticlockwise
    gain_map = full(b"auxC", 0, 0, b"urn:com:apple:photo:2020:aux:hdrgainmap\x00")
    note = full(b"udes", 0, 0, b"en\x00CANARY\x00CANARY description\x00CANARY\x00")
    props = [(True, p) for p in primary_props] + [(True, irot)]
    if extra_prop is not None:
        props.append(extra_prop)
    items = [
        HeifItem(1, b"hvc1", primary, props, name=b"CANARY primary"),
        HeifItem(2, b"hvc1", thumb, [(True, p) for p in thumb_props]),
        HeifItem(3, b"hvc1", thumb, [(True, p) for p in thumb_props] + [(True, gain_map)]),
        HeifItem(4, b"Exif", exif_blob()),
        HeifItem(5, b"mime", XMP, content_type=b"application/rdf+xml"),
        HeifItem(6, b"uri ", b"CANARY uri payload"),
        HeifItem(7, b"hvc1", thumb, [(True, p) for p in thumb_props] + [(False, note)]),
    ]
    refs = [
        (b"thmb", 2, [1]),
        (b"auxl", 3, [1]),
        (b"cdsc", 4, [1]),
        (b"cdsc", 5, [1]),
    ]
    return heif(items, primary=1, refs=refs)

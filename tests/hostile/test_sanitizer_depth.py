"""Property-based and hostile: the SEI, ICC and TIFF depth checks of intake/sanitize/.

Random NAL streams: cleaning keeps every sample's size and every non-SEI NAL unit in order,
and the independent verifier then finds no user data; random bytes end as Rejected, never
as another exception.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.sanitize import _icc, _sei, sanitize_stream
from intake.sanitize.errors import Rejected
from intake.sanitize.verify import _nal
from intake.sanitize.verify._icc import icc_findings
from tests.unit.sanitize.icc_fixtures import identifying_profile

pytestmark = [pytest.mark.hostile]

CODECS = st.sampled_from(["avc", "hevc"])
LENGTH_SIZES = st.sampled_from([1, 2, 4])


def _coded(value: int) -> bytes:
    return b"\xff" * (value // 255) + bytes((value % 255,))


@st.composite
def sei_nal(draw: st.DrawFn, codec: str) -> bytes:
    messages = draw(
        st.lists(
            st.tuples(
                st.sampled_from([0, 1, 4, 5, 6, 137, 136, 133, 200, 300]),
                st.binary(max_size=40),
            ),
            min_size=1,
            max_size=4,
        )
    )
    rbsp = b"".join(_coded(t) + _coded(len(p)) + p for t, p in messages) + b"\x80"
    header = b"\x06" if codec == "avc" else bytes((39 << 1, 1))
    return header + _sei.escape(rbsp)


@st.composite
def sample(draw: st.DrawFn) -> tuple[str, int, list[bytes]]:
    codec = draw(CODECS)
    length_size = draw(LENGTH_SIZES)
    slice_header = b"\x65" if codec == "avc" else bytes((19 << 1, 1))
    nals = draw(
        st.lists(
            st.one_of(
                sei_nal(codec),
                st.binary(min_size=1, max_size=60).map(lambda b: slice_header + b),
            ),
            min_size=1,
            max_size=6,
        )
    )
    limit = (1 << (8 * length_size)) - 1
    return codec, length_size, [n for n in nals if len(n) <= limit]


def _framed(nals: list[bytes], length_size: int) -> bytes:
    return b"".join(len(n).to_bytes(length_size, "big") + n for n in nals)


@settings(max_examples=300, deadline=None)
@given(sample())
def test_sei_clean_sample_keeps_size_and_slices(case: tuple[str, int, list[bytes]]) -> None:
    codec, length_size, nals = case
    data = _framed(nals, length_size)
    codec_t: _sei.Codec = "avc" if codec == "avc" else "hevc"
    try:
        out, _removed = _sei.clean_sample(codec_t, length_size, data)
    except Rejected:
        return  # too little room for a filler unit: refused, never published
    cleaned = data if out is None else out
    assert len(cleaned) == len(data)
    slices = [n for n in nals if _sei.nal_type(codec_t, n) not in (6, 39, 40)]
    kept = _sei.split_nals(cleaned, length_size)
    assert [n for n in kept if _sei.nal_type(codec_t, n) not in (6, 12, 38, 39, 40)] == slices

    def read(pos: int, n: int) -> bytes:
        return cleaned[pos : pos + n]

    assert _nal.stream_findings(codec == "hevc", length_size, read, 0, len(cleaned)) == []


@settings(max_examples=300, deadline=None)
@given(CODECS, LENGTH_SIZES, st.binary(max_size=200))
def test_sei_random_sample_bytes_rejected_or_same_size(codec: str, size: int, data: bytes) -> None:
    codec_t: _sei.Codec = "avc" if codec == "avc" else "hevc"
    try:
        out, _ = _sei.scan_sample(codec_t, size, lambda p, n: data[p : p + n], 0, len(data))
    except Rejected:
        return
    assert out is None or len(out) == len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.booleans())
def test_sei_random_hvcc_rejected_or_parsed(data: bytes, layered: bool) -> None:
    try:
        out, length_size, _ = _sei.clean_hvcc(b"\x01" + data, layered)
    except Rejected:
        return
    assert (len(out) <= len(data) + 1, length_size in (1, 2, 4)) == (True, True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_sei_random_avcc_rejected_or_parameter_sets_only(data: bytes) -> None:
    try:
        length_size = _sei.avcc_length_size(b"\x01" + data)
    except Rejected:
        return
    assert (length_size in (1, 2, 4), _nal.avcc_findings(b"\x01" + data)[1]) == (True, [])


def test_sei_avcc_with_sei_nal_rejected() -> None:
    sei = bytes((0x06, 5, 17)) + bytes(16) + b"C" + b"\x80"
    record = bytes((1, 66, 0, 30, 0xFF, 0xE1)) + len(sei).to_bytes(2, "big") + sei + b"\x00"
    with pytest.raises(Rejected) as caught:
        _sei.avcc_length_size(record)
    assert caught.value.code == "unsafe_content"


def test_sei_removal_freeing_less_than_a_filler_unit_rejected() -> None:
    # Recovery point (kept) and an empty vendor T.35 message (2 bytes): 2 freed bytes cannot
    # hold a 6-byte filler unit, and the sample must keep its size, so it is refused.
    data = _framed([b"\x06" + bytes((6, 1, 0x84, 4, 0)) + b"\x80", b"\x65\x88"], 4)
    with pytest.raises(Rejected) as caught:
        _sei.clean_sample("avc", 4, data)
    assert caught.value.code == "unsafe_content"


def test_sei_whole_nal_removed_becomes_trailing_filler() -> None:
    sei = b"\x06" + bytes((5, 17)) + bytes(16) + b"C" + b"\x80"
    data = _framed([sei, b"\x65\x88\x84", b"\x0a"], 4)  # SEI, IDR slice, end of sequence
    out, removed = _sei.clean_sample("avc", 4, data)
    assert out is not None
    types = [n[0] & 0x1F for n in _sei.split_nals(out, 4)]
    assert (removed, types, len(out)) == ([5], [5, 12, 10], len(data))


# ------------------------------------------------------------------ TIFF strips into metadata

DESCRIPTION = b"CANARY owner GPS 42.2626N 71.8023W\x00"
PIXELS = bytes(range(16))


def _tiff(strip_at: int | None = None, strip_len: int = 16) -> tuple[bytes, dict[str, int]]:
    """A 16x1 grey TIFF: header, IFD0 (with a description and an EXIF IFD holding a GPS-ish
    text), the EXIF IFD, the description, the pixels. ``strip_at`` moves StripOffsets."""
    where: dict[str, int] = {}
    entries = 9
    ifd0_at = 8
    exif_at = ifd0_at + 2 + 12 * entries + 4
    exif_text_at = exif_at + 2 + 12 + 4
    desc_at = exif_text_at + len(DESCRIPTION)
    pixels_at = desc_at + len(DESCRIPTION)
    where |= {"ifd0": ifd0_at, "exif": exif_at, "exif text": exif_text_at}
    where |= {"description": desc_at, "pixels": pixels_at, "header": 0}

    def entry(tag: int, kind: int, count: int, value: int) -> bytes:
        packed = value.to_bytes(2, "little") + b"\0\0" if kind == 3 else value.to_bytes(4, "little")
        return (
            tag.to_bytes(2, "little")
            + kind.to_bytes(2, "little")
            + count.to_bytes(4, "little")
            + packed
        )

    ifd0 = (
        entries.to_bytes(2, "little")
        + b"".join(
            [
                entry(256, 3, 1, 16),
                entry(257, 3, 1, 1),
                entry(258, 3, 1, 8),
                entry(259, 3, 1, 1),
                entry(262, 3, 1, 1),
                entry(270, 2, len(DESCRIPTION), desc_at),
                entry(273, 4, 1, pixels_at if strip_at is None else strip_at),
                entry(279, 4, 1, strip_len),
                entry(34665, 4, 1, exif_at),
            ]
        )
        + bytes(4)
    )
    exif = (1).to_bytes(2, "little") + entry(0x9286, 7, len(DESCRIPTION), exif_text_at) + bytes(4)
    data = b"II*\x00" + ifd0_at.to_bytes(4, "little") + ifd0 + exif + DESCRIPTION + DESCRIPTION
    return data + PIXELS, where


def _run(data: bytes) -> tuple[str, str, bytes]:
    out = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), out)
    return manifest.status, manifest.reason, out.getvalue()


def test_tiff_plain_strip_clean() -> None:
    status, reason, out = _run(_tiff()[0])
    assert (status, reason, out.endswith(PIXELS), b"CANARY" in out) == ("clean", "", True, False)


@pytest.mark.parametrize("target", ["header", "ifd0", "exif", "exif text", "description"])
def test_tiff_strip_into_metadata_rejected(target: str) -> None:
    where = _tiff()[1]
    status, reason, out = _run(_tiff(strip_at=where[target])[0])
    assert (status, reason, out) == ("rejected", "unsafe_content", b"")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=40))
def test_tiff_strip_anywhere_is_pixels_or_rejected(strip_at: int, length: int) -> None:
    data, where = _tiff(strip_at=strip_at, strip_len=length)
    status, reason, out = _run(data)
    metadata_end = where["pixels"]
    if strip_at + length > len(data):
        assert status == "rejected"
    elif strip_at < metadata_end:
        assert (status, reason) == ("rejected", "unsafe_content")
    else:
        assert (status, out.endswith(data[strip_at : strip_at + length])) == ("clean", True)


# ------------------------------------------------------------------ ICC profiles


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8))
def test_icc_mutated_profile_dropped_or_verified_neutral(edits: list[tuple[int, int]]) -> None:
    profile = bytearray(identifying_profile())
    for at, value in edits:
        if at < len(profile):
            profile[at] = value
    neutral, _changed = _icc.neutral_or_none(bytes(profile))
    if neutral is not None:
        assert (icc_findings(neutral), b"CANARY" in neutral) == ([], False)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.integers(0, 1000))
def test_icc_in_place_padding_keeps_size(cut: int, extra: int) -> None:
    profile = identifying_profile()
    try:
        neutral, _ = _icc.neutral_profile(
            profile[: len(profile) - cut], pad_to=len(profile) + extra
        )
    except Rejected:
        return
    assert (len(neutral), int.from_bytes(neutral[:4], "big")) == (len(profile) + extra,) * 2
    assert icc_findings(neutral) == []


@pytest.mark.parametrize(
    ("codec", "header"),
    [("avc", b"\x18"), ("avc", b"\x86"), ("hevc", bytes((50 << 1, 1))), ("hevc", b"\xce\x01")],
    ids=["avc-unspecified-24", "avc-forbidden-bit", "hevc-unspecified-50", "hevc-forbidden-bit"],
)
def test_sei_reserved_or_invalid_nal_replaced_by_filler(codec: str, header: bytes) -> None:
    # Decoders ignore reserved/unspecified NAL types and refuse a set forbidden bit: a
    # place to hide a serial number that no decoder reads. It goes like SEI user data.
    codec_t: _sei.Codec = "avc" if codec == "avc" else "hevc"
    hidden = header + b"CANARY serial SN-4242"
    slice_nal = b"\x65\x88\x84" if codec == "avc" else bytes((19 << 1, 1, 0xAF))
    data = _framed([hidden, slice_nal], 4)
    out, removed = _sei.clean_sample(codec_t, 4, data)
    assert out is not None
    assert (removed, len(out), b"CANARY" in out) == ([_sei.HIDDEN_NAL], len(data), False)
    assert _nal.stream_findings(codec == "hevc", 4, lambda p, n: data[p : p + n], 0, len(data))

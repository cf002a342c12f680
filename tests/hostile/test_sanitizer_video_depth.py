"""Property-based and hostile: AV1 OBUs and MPEG-4 Part 2 user data (intake/sanitize/_obu.py,
_m4v.py; independent checks verify/_obu.py, verify/_m4v.py).

Random OBU samples: cleaning keeps the sample's size and every decoding OBU byte for byte at
its offset, and the independent verifier then finds nothing; random bytes end as Rejected,
never as another exception. MPEG-4 streams: user data is blanked or an exact encoder tag.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.sanitize import _m4v, _obu
from intake.sanitize.errors import Rejected
from intake.sanitize.verify import _m4v as verify_m4v
from intake.sanitize.verify import _obu as verify_obu
from tests.factories.coded_video import GPS_TEXT, HDR10_T35, leb128, metadata_obu, obu

pytestmark = [pytest.mark.hostile]

# OBUs that take part in decoding (sequence header, temporal delimiter, frame header, tile
# group, frame, redundant frame header): they must come out unchanged.
DECODING = (1, 2, 3, 4, 6, 7)


def _read(data: bytes) -> verify_obu.Read:
    return lambda pos, n: data[pos : pos + n]


@st.composite
def any_obu(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from([*DECODING, 5, 5, 5, 8, 0, 9, 12, 14, 15]))
    extension = draw(st.one_of(st.none(), st.integers(0, 255)))
    if kind == 5:
        mtype = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 31, 200]))
        body = draw(st.one_of(st.just(HDR10_T35), st.binary(max_size=30)))
        return obu(5, leb128(mtype) + body + b"\x80", extension)
    return obu(kind, draw(st.binary(max_size=60)), extension)


@settings(max_examples=300, deadline=None)
@given(st.lists(any_obu(), min_size=1, max_size=8))
def test_av1_clean_sample_keeps_size_and_decoding_obus(obus: list[bytes]) -> None:
    data = b"".join(obus)
    out, removed = _obu.clean_sample(data)
    cleaned = data if out is None else out
    assert len(cleaned) == len(data)
    at = 0
    for unit in obus:
        if unit[0] >> 3 & 0xF in DECODING:
            assert cleaned[at : at + len(unit)] == unit
        at += len(unit)
    assert verify_obu.obu_findings(_read(cleaned), 0, len(cleaned)) == []
    assert (out is None) == (removed == [])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_av1_random_sample_bytes_rejected_or_same_size(data: bytes) -> None:
    try:
        out, _ = _obu.scan_sample(_read(data), 0, len(data))
    except Rejected:
        return
    cleaned = data if out is None else out
    assert (len(cleaned), verify_obu.obu_findings(_read(cleaned), 0, len(cleaned))) == (
        len(data),
        [],
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_av1_random_av1c_rejected_or_verified(data: bytes) -> None:
    record = b"\x81\x00\x0c\x00" + data
    try:
        out, _ = _obu.clean_av1c(record)
    except Rejected:
        return
    assert (len(out) <= len(record), verify_obu.av1c_findings(out)) == (True, [])


def test_av1_gps_metadata_obu_gone_from_output_bytes() -> None:
    frame = obu(6, b"\x10\x00frame data")
    data = metadata_obu(6, GPS_TEXT) + frame + metadata_obu(4, b"\xb5\x00\x99" + GPS_TEXT)
    out, removed = _obu.clean_sample(data)
    assert out is not None
    assert (GPS_TEXT in out, len(out), out.count(frame)) == (False, len(data), 1)
    assert removed == ["AV1 metadata type 6", "AV1 T.35 user data"]
    assert [u[0] for u in _obu.split_obus(out)] == [15, 6, 15]


def test_av1_padding_keeps_extension_and_size_bytes() -> None:
    # A two-byte leb128 (non-minimal encoding of 3) and an extension byte stay as they are.
    unit = bytes((0x2E, 0x29)) + b"\x83\x00" + b"\x06Z\x80"
    out, _ = _obu.clean_sample(unit)
    assert out == bytes((0x7E, 0x28)) + b"\x83\x00" + bytes(3)


@pytest.mark.parametrize(
    "sample",
    [
        bytes((0xAA,)) + b"\x02ab",  # forbidden bit on a metadata OBU
        obu(6, b"frame") + b"\x32\x09short",  # second OBU runs past the sample
        obu(6, b"frame") + b"\x30",  # no size field: refused, not guessed
        b"\x32\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # leb128 longer than 8 bytes
    ],
    ids=["forbidden-bit", "overrun", "no-size-field", "long-leb128"],
)
def test_av1_broken_sample_rejected(sample: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        _obu.scan_sample(_read(sample), 0, len(sample))
    assert caught.value.code in ("malformed", "unsupported_format")


def test_av1_verifier_flags_what_the_stripper_removes() -> None:
    data = metadata_obu(5, GPS_TEXT) + obu(12, GPS_TEXT) + obu(15, GPS_TEXT) + obu(8, b"t")
    assert verify_obu.obu_findings(_read(data), 0, len(data)) == [
        "AV1 metadata OBU of type 5 (user data or unknown) kept",
        "reserved AV1 OBU type 12 kept",
        f"AV1 padding OBU at {len(data) - 3 - len(GPS_TEXT) - 2} is not zero",
        "reserved AV1 OBU type 8 kept",
    ]


# ------------------------------------------------------------------ MPEG-4 Part 2

VOP = b"\x00\x00\x01\xb6\x10\x42\x88\x21"
USER = b"\x00\x00\x01\xb2"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(VOP),
            st.binary(max_size=40).map(lambda b: USER + b.replace(b"\x00", b"\x01")),
            st.sampled_from([b"XviD0069", b"DivX503b1393p", b"Lavc59.37.100"]).map(
                lambda tag: USER + tag
            ),
            st.sampled_from([b"XviD0069 GPS", b"DivX5b1p CANARY"]).map(lambda tag: USER + tag),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_mpeg4_user_data_blanked_or_exact_tag(parts: list[bytes]) -> None:
    data = b"".join(parts)
    out, _count = _m4v.neutralise(data)
    cleaned = data if out is None else out
    assert (len(cleaned), cleaned.count(VOP)) == (len(data), data.count(VOP))
    assert (b"GPS" in cleaned, b"CANARY" in cleaned) == (False, False)
    assert verify_m4v.mpeg4_findings(cleaned) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_mpeg4_random_bytes_rejected_or_verified(data: bytes) -> None:
    try:
        out, _ = _m4v.scan_sample(_read(b"\x00\x00\x01\xb2" + data), 0, len(data) + 4)
    except Rejected:
        return
    cleaned = b"\x00\x00\x01\xb2" + data if out is None else out
    assert (len(cleaned), verify_m4v.mpeg4_findings(cleaned)) == (len(data) + 4, [])


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (b"XviD0069", True),
        (b"DivX503b1393p", True),
        (b"DivX999Build123", True),
        (b"Lavc59.37.100", True),
        (b"FFmpeg v0.4.9 / libavcodec build: 4718", True),
        (b"XviD0069 CANARY", False),  # a tag with anything after it is not a tag
        (b"DivX503b1393pGPS", False),
        (b" XviD0069", False),
        (b"Canon PowerShot CANARY-SN-4242", False),
    ],
)
def test_mpeg4_only_exact_encoder_tags_kept(text: bytes, kept: bool) -> None:
    data = USER + text + b"\x00" + VOP  # a zero stuffing byte before the next start code
    out, count = _m4v.neutralise(data)
    expected = data if kept else USER + b" " * len(text) + b"\x00" + VOP
    assert (out or data, count) == (expected, 0 if kept else 1)
    assert verify_m4v.mpeg4_findings(out or data) == []


def test_mpeg4_verifier_flags_user_data_and_reserved_codes() -> None:
    data = USER + b"XviD0069 GPS" + VOP + b"\x00\x00\x01\xb7hidden" + USER + b"   "
    assert verify_m4v.mpeg4_findings(data) == [
        "MPEG-4 user data that is not an encoder tag kept",
        "MPEG-4 start code 0xb7 kept",
    ]

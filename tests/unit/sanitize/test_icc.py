"""ICC profiles naming a device or owner: colour data kept, identifying text replaced with
neutral text, in JPEG, PNG, WebP, TIFF and HEIF; the independent verifiers check it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from intake.sanitize import sanitize_stream
from intake.sanitize.families import verify
from intake.sanitize.verify._icc import icc_findings
from tests.unit.sanitize.conftest import gradient, pixels
from tests.unit.sanitize.icc_fixtures import COLOUR_TAGS, OWNER, identifying_profile, tag_data

FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "HEIF": "isobmff"}


def _open_heif(fmt: str) -> None:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()


def _image(fmt: str) -> bytes:
    _open_heif(fmt)
    out = io.BytesIO()
    params = {"lossless": True} if fmt == "WEBP" else {}
    gradient().save(out, fmt, icc_profile=identifying_profile(), **params)
    return out.getvalue()


def _clean(data: bytes) -> tuple[str, str, bytes]:
    out = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), out)
    return manifest.status, manifest.reason, out.getvalue()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_icc_identifying_text_replaced_colour_kept(fmt: str) -> None:
    data = _image(fmt)
    _open_heif(fmt)
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == identifying_profile()
    status, reason, out = _clean(data)
    assert (status, reason) == ("clean", "")
    assert (out.count(b"CANARY"), out.count("CANARY".encode("utf-16-be"))) == (0, 0)
    assert (out.count(OWNER), out.count(b"CNRYSN42")) == (0, 0)
    profile = Image.open(io.BytesIO(out)).info["icc_profile"]
    assert (profile.count(b"CANARY"), profile.count("CANARY".encode("utf-16-be"))) == (0, 0)
    kept, original = tag_data(profile), tag_data(identifying_profile())
    assert {t: kept[t] for t in COLOUR_TAGS} == {t: original[t] for t in COLOUR_TAGS}
    assert sorted(kept) == sorted([*COLOUR_TAGS, b"desc", b"cprt"])
    assert icc_findings(profile) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_icc_pixels_unchanged(fmt: str) -> None:
    data = _image(fmt)
    assert pixels(_clean(data)[2]) == pixels(data)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_verifier_flags_identifying_icc(fmt: str) -> None:
    findings = verify(FORMATS[fmt], io.BytesIO(_image(fmt)))
    assert [f for f in findings if "ICC" in f and "not colour data" in f] != []


def test_icc_findings_name_each_identifying_part() -> None:
    findings = icc_findings(identifying_profile())
    assert findings == [
        "ICC header CMM is set",
        "ICC header date is set",
        "ICC header platform is set",
        "ICC header device maker and model is set",
        "ICC header creator and profile ID is set",
        "ICC desc text is not neutral",
        "ICC cprt text is not neutral",
        "ICC tag b'dmnd' of type b'desc' is not colour data",
        "ICC tag b'dmdd' of type b'desc' is not colour data",
        "ICC tag b'calt' of type b'dtim' is not colour data",
        "ICC tag b'zOWN' of type b'text' is not colour data",
    ]

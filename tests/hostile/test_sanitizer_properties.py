"""Property-based: every parser in intake/sanitize/, fed mutations of real sample files,
raises nothing and ends clean (and verified) or rejected with a reason."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.sanitize import sanitize_stream
from intake.sanitize.families import FAMILIES, verify
from intake.sanitize.sniff import HEAD_SIZE, sniff
from tests.factories.mutations import KINDS, mutate_at
from tests.factories.tools import require_shared_samples

pytestmark = [pytest.mark.hostile]

EXAMPLES_PER_FORMAT = 30


@cache
def _sample(family: str) -> bytes | None:
    """The smallest shared sample of this family, judged by its bytes, not its name."""
    root = require_shared_samples() / "files"
    found = sorted(
        (p for p in [*root.iterdir(), *(root / "real").iterdir()] if p.is_file()),
        key=lambda p: p.stat().st_size,
    )
    for path in found:
        with path.open("rb") as handle:
            if sniff(handle.read(HEAD_SIZE)) == family:
                return path.read_bytes()
    return None


# One mutation: (kind, position as a fraction of the file, length, fill byte).
MUTATION = st.tuples(
    st.sampled_from(KINDS),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=0, max_value=255),
)


def mutate(data: bytes, mutations: list[tuple[str, float, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, length, fill in mutations:
        if not out:
            break
        mutate_at(out, kind, min(int(where * len(out)), len(out) - 1), length, fill)
    return bytes(out)


def check_sanitizer_on(data: bytes, family: str) -> str:
    """Sanitize ``data``; assert the outcome is one of the two allowed ones. Returns it."""
    out = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), out)
    assert manifest.status in ("clean", "rejected")
    if manifest.status == "rejected":
        assert manifest.reason != ""
        assert out.getvalue() == b""
    else:
        out.seek(0)
        assert verify(family, out) == []
    return manifest.status


@pytest.mark.parametrize("family", FAMILIES)
def test_sanitizer_survives_mutated_samples(family: str, tmp_path: Path) -> None:
    sample = _sample(family)
    if sample is None:
        pytest.skip(f"no shared sample of the {family} family")

    @settings(
        max_examples=EXAMPLES_PER_FORMAT,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(MUTATION, min_size=1, max_size=4))
    def run(mutations: list[tuple[str, float, int, int]]) -> None:
        check_sanitizer_on(mutate(sample, mutations), family)

    run()

from __future__ import annotations

import importlib
import importlib.util

import pytest

from intake.sanitize.sniff import HEAD_SIZE, sniff


def require_stripper(data: bytes) -> str:
    """The sniffed family of ``data``; skips while that family's sanitizer module is not in
    this tree yet (the format modules land separately)."""
    family = sniff(data[:HEAD_SIZE])
    assert family is not None
    name = f"intake.sanitize.{family}"
    if importlib.util.find_spec(name) is None or not hasattr(
        importlib.import_module(name), "strip"
    ):
        pytest.skip(f"{name} has no strip() in this tree yet")
    return family


from tests.faults.conftest import own_celery, own_redis, processes  # noqa: E402,F401  (shared)

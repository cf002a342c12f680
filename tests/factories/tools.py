"""External tools some tests need. Missing locally: those tests skip, naming the package.
CI sets TESTIGO_REQUIRE_TOOLS=1, which turns every such skip into a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DEBIAN_PACKAGES = {
    "exiftool": "libimage-exiftool-perl",
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "chromium": "chromium",
    "redis-server": "redis-server",
    "pg_ctlcluster": "postgresql",
    "nginx": "nginx",
}

# Beside the checkout (/work/main -> /work/shared); a worktree deeper down names it.
SHARED_SAMPLES = Path(
    os.environ.get("TESTIGO_SHARED_SAMPLES")
    or Path(__file__).resolve().parents[3] / "shared" / "media-samples"
)


def tools_required() -> bool:
    return os.environ.get("TESTIGO_REQUIRE_TOOLS") == "1"


def need(reason: str) -> None:
    """Skip the current test with ``reason``, or fail it when CI requires every tool."""
    if tools_required():
        pytest.fail(f"required by CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Path of an executable; skips (or fails under CI) with the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        need(f"{name} not found; install the Debian package {DEBIAN_PACKAGES.get(name, name)}")
        raise AssertionError("unreachable")
    return path


def require_shared_samples() -> Path:
    if not (SHARED_SAMPLES / "files").is_dir():
        need(f"shared media samples not found at {SHARED_SAMPLES}")
    return SHARED_SAMPLES

"""Rooms sized for reading: no application module outside the sanitizer and migrations
grows past 500 lines, and no sanitizer module past 1,000 (issue "Rooms that match the
story"). A module that grows past its limit is split by sub-domain, not trimmed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("config", "intake", "reports")
SANITIZER = ROOT / "intake" / "sanitize"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _modules() -> list[Path]:
    return [
        path
        for package in APPLICATION
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_application_modules_outside_the_sanitizer_are_at_most_500_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): _lines(path)
        for path in _modules()
        if not path.is_relative_to(SANITIZER) and _lines(path) > 500
    }
    assert too_long == {}


def test_sanitizer_modules_are_at_most_1000_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): _lines(path)
        for path in _modules()
        if path.is_relative_to(SANITIZER) and _lines(path) > 1000
    }
    assert too_long == {}


def test_module_walk_finds_the_settings_and_the_sanitizer() -> None:
    # The limits above mean something only if the walk sees the modules they are about.
    found = {str(path.relative_to(ROOT)) for path in _modules()}
    assert {"config/settings.py", "intake/sanitize/jpeg.py"} <= found

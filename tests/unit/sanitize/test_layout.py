"""The sanitizer's structure: the FAMILIES registry is complete and wired to the right
modules, verifiers stay independent of strippers, strippers share code only through the
underscore modules, and no module grows past 1,000 lines. Imports are read with ``ast`` from
the source files, so an import hidden in a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

import intake.sanitize
from intake.sanitize.families import FAMILIES
from intake.sanitize.sniff import Family

PACKAGE = "intake.sanitize"
ROOT = Path(intake.sanitize.__file__).parent
# What every stripper may use besides its own modules: the shared helpers and the plumbing.
SHARED = {
    f"{PACKAGE}.{name}"
    for name in (
        "_dates",
        "_exif",
        "_icc",
        "_id3",
        "_io",
        "_m4v",
        "_obu",
        "_sei",
        "_video",
        "_vorbis",
        "context",
        "errors",
        "manifest",
    )
} | {f"{PACKAGE}.sniff"}
# A verifier is written apart from the strippers; it may share only the stream helpers.
VERIFY_MAY_USE = {f"{PACKAGE}._io"}


def _module_name(path: Path) -> str:
    parts = [*path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


MODULES = {_module_name(path): path for path in ROOT.rglob("*.py")}


def _sanitizer_imports(module: str) -> set[str]:
    """Modules of the sanitizer that ``module`` imports (the bare package excepted: every
    submodule's import runs it anyway)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name in MODULES and name != PACKAGE}


def _family_modules(family: str) -> set[str]:
    root = f"{PACKAGE}.{family}"
    return {name for name in MODULES if name == root or name.startswith(root + ".")}


STRIPPER_MODULES = set().union(*(_family_modules(family) for family in FAMILIES))
VERIFY_MODULES = {name for name in MODULES if name.startswith(f"{PACKAGE}.verify")}


def test_registry_lists_every_family_once() -> None:
    assert list(FAMILIES) == list(get_args(Family))


@pytest.mark.parametrize("family", FAMILIES)
def test_registry_wires_each_family_to_its_own_modules(family: str) -> None:
    handlers = FAMILIES[family]  # type: ignore[index]
    assert handlers.strip.__module__ == f"{PACKAGE}.{family}"
    assert handlers.verify.__module__ == f"{PACKAGE}.verify.{family}"


@pytest.mark.parametrize("module", sorted(VERIFY_MODULES))
def test_verifier_imports_no_stripper(module: str) -> None:
    imported = _sanitizer_imports(module)
    assert imported <= VERIFY_MODULES | VERIFY_MAY_USE, sorted(imported)


@pytest.mark.parametrize("module", sorted(STRIPPER_MODULES))
def test_stripper_imports_only_shared_modules_and_its_own(module: str) -> None:
    family = module.split(".")[2]
    imported = _sanitizer_imports(module)
    assert imported <= SHARED | _family_modules(family), sorted(imported)


@pytest.mark.parametrize("module", sorted(SHARED))
def test_shared_modules_import_no_family(module: str) -> None:
    assert _sanitizer_imports(module) <= SHARED


def test_import_reader_sees_relative_and_nested_imports() -> None:
    assert _sanitizer_imports(f"{PACKAGE}.isobmff.heif") >= {
        f"{PACKAGE}.errors",
        f"{PACKAGE}.isobmff.boxes",
    }
    assert f"{PACKAGE}.verify.jpeg" in _sanitizer_imports(f"{PACKAGE}.families")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_1000_lines(module: str) -> None:
    assert len(MODULES[module].read_text().splitlines()) <= 1000

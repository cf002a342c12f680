"""bin/import-cycles: the application has no import cycle, and the script finds planted ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "import-cycles"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_application_has_no_module_level_import_cycle() -> None:
    done = _run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("no cycles")


def test_a_planted_cycle_through_from_package_import_submodule_fails(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            # "from pkg import b" names the submodule pkg.b, not the package.
            "a.py": "from pkg import b\n",
            "b.py": "from .a import *\n",
            "c.py": "import pkg.a\n",
        },
    )
    done = _run("--root", str(root), "pkg")
    assert done.returncode == 1
    assert "cycle: pkg.a -> pkg.b -> pkg.a" in done.stdout
    assert "pkg.c" not in done.stdout


def test_function_level_imports_count_only_when_asked(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "import pkg.b\n",
            "b.py": "class B:\n    def f(self):\n        from pkg import a\n",
        },
    )
    assert _run("--root", str(root), "pkg").returncode == 0
    done = _run("--root", str(root), "--functions", "pkg")
    assert done.returncode == 1
    assert "cycle: pkg.a -> pkg.b -> pkg.a" in done.stdout


def test_type_checking_imports_and_package_re_exports_are_no_cycle(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            # The package re-exports its submodule; the submodule imports a sibling by its
            # full name, and its import of the package's name only runs for type checkers.
            "__init__.py": "from pkg.a import A\n",
            "a.py": (
                "from typing import TYPE_CHECKING\n"
                "from pkg.b import B\n"
                "if TYPE_CHECKING:\n    from pkg import A\n"
                "class A(B):\n    pass\n"
            ),
            "b.py": "class B:\n    pass\n",
        },
    )
    done = _run("--root", str(root), "pkg")
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == "3 modules, 2 module-level imports between them: no cycles"


def test_project_tree_has_no_module_level_import_cycle() -> None:
    # The tests and benches too: their helpers import each other.
    done = _run("config", "intake", "reports", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("no cycles")


def test_staff_side_has_no_import_cycle_even_through_functions() -> None:
    # Services queue tasks by name (reports/jobs.py): reports.tasks imports the services,
    # and nothing in the services imports the tasks back, not even inside a function.
    done = _run("--functions", "reports")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("no cycles")

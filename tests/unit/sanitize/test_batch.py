"""batch.sanitize_files: the forked workers find the parent's objects frozen (their garbage
collector then never writes to them, so the pages they lie on stay shared), and the parent
collects as before once the pool is done.

Runs in a fresh interpreter: the fork hook that reports what each worker sees cannot be
removed again, and must not run in this session's other forks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import gc, json, os, sys
from pathlib import Path
from intake.sanitize.batch import sanitize_files

seen = Path(sys.argv[1])
os.register_at_fork(
    after_in_child=lambda: (seen / str(os.getpid())).write_text(str(gc.get_freeze_count()))
)
inputs = []
for name in ("a.jpg", "b.png"):
    path = seen.parent / name
    path.write_bytes(b"not media" * 100)
    inputs.append(path)
out = seen.parent / "out"
out.mkdir()
statuses = [m.status for m in sanitize_files(inputs, out, jobs=2)]
workers = sorted(int(p.read_text()) > 0 for p in seen.iterdir())
after = gc.get_freeze_count()
print(json.dumps({"statuses": statuses, "workers_frozen": workers, "parent_frozen_after": after}))
"""


def test_batch_workers_start_with_parent_objects_frozen(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    seen.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(seen)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "statuses": ["rejected", "rejected"],
        "workers_frozen": [True, True],
        "parent_frozen_after": 0,
    }

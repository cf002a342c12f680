"""Resident memory of a Celery worker processing a 1 GB video from the object store
(SeaweedFS, started by the test fixtures). Prints the pool process's peak RSS; goal
< 150 MB.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/worker_memory.py [size_mb]

Runs tests/storage/test_worker_memory.py at the given size (default 1000 MB) on
PostgreSQL and Redis as the tests do; the CI-sized run of the same test uses 150 MB.
Needs ffmpeg and about 3x the size free on disk (video, sealed copy, store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    size_mb = sys.argv[1] if len(sys.argv) > 1 else "1000"
    env = {**os.environ, "TESTIGO_WORKER_MEMORY_VIDEO_MB": size_mb}
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         "-o", "timeout=1800", "tests/storage/test_worker_memory.py"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    figures = [line for line in done.stdout.splitlines() if "peak RSS" in line]
    print("\n".join(figures) or done.stdout[-3000:])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()

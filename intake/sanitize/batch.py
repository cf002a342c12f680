"""Many files at once: sanitize() in a pool of worker processes, manifests in input order.

Each file still goes through sanitize() whole (hashed in and out, verified, no output when
rejected); the pool only runs several of them side by side. Inputs that share a file name
would share an output path, so they go to one worker, one after the other, in input order:
the last one wins, as when they run one by one.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import _io, sanitize
from .manifest import Manifest


def sanitize_files(sources: Sequence[Path], out_dir: Path, jobs: int) -> Iterator[Manifest]:
    """Sanitize each source into ``out_dir`` under its own name; one manifest per source,
    yielded in the order of ``sources`` as soon as it and all before it are done."""
    groups: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        groups.setdefault(source.name, []).append(index)
    if jobs <= 1 or len(groups) <= 1:
        for source in sources:
            yield sanitize(source, out_dir / source.name)
        return
    tasks = [[(i, sources[i]) for i in indexes] for indexes in groups.values()]
    done: dict[int, Manifest] = {}
    next_index = 0
    # fork: the workers start with the sanitizer already imported (forkserver or spawn
    # would import it again in each). The caller must not be running other threads.
    context = multiprocessing.get_context("fork")
    # The objects the workers inherit (Django, the sanitizer) are frozen first, so the
    # workers' garbage collector leaves them alone: its passes would write to each of them
    # and so copy every page they lie on into every worker (measured: about 8% of the CPU
    # of 100 photos with --jobs 2, docs/sanitizer.md). Unfrozen again when the pool is done,
    # so this process collects them as before.
    gc.freeze()
    try:
        with context.Pool(min(jobs, len(tasks)), initializer=_no_hash_threads) as pool:
            work = functools.partial(_sanitize_group, out_dir)
            for results in pool.imap_unordered(work, tasks):
                done.update(results)
                while next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
    finally:
        gc.unfreeze()


def _no_hash_threads() -> None:
    # The worker processes fill the cores already: a hash thread would only contend.
    _io.background_hashing = False


def _sanitize_group(out_dir: Path, group: list[tuple[int, Path]]) -> list[tuple[int, Manifest]]:
    return [(index, sanitize(source, out_dir / source.name)) for index, source in group]

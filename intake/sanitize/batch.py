"""Many files at once: sanitize() in a pool of worker processes, manifests in input order.

Each file still goes through sanitize() whole (hashed in and out, verified, no output when
rejected); the pool only runs several of them side by side. Inputs that share a file name
would share an output path, so they go to one worker, one after the other, in input order:
the last one wins, as when they run one by one.
"""

from __future__ import annotations

import functools
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
    with context.Pool(min(jobs, len(tasks)), initializer=_no_hash_threads) as pool:
        work = functools.partial(_sanitize_group, out_dir)
        for results in pool.imap_unordered(work, tasks):
            done.update(results)
            while next_index in done:
                yield done.pop(next_index)
                next_index += 1


def _no_hash_threads() -> None:
    # The worker processes fill the cores already: a hash thread would only contend.
    _io.background_hashing = False


def _sanitize_group(out_dir: Path, group: list[tuple[int, Path]]) -> list[tuple[int, Manifest]]:
    return [(index, sanitize(source, out_dir / source.name)) for index, source in group]

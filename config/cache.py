"""The cache of the embedded default: files under var/cache/, shared by every process.

Throttle counters must be one count for the whole service, not one per gunicorn worker
(design promise 12), and the embedded default has no cache server. Django's file cache is
shared, but its ``add`` and ``incr`` read then write: two processes can both "add" a key,
and ``incr`` loses counts and resets the key's expiry. Here both run under one exclusive
``flock`` on the cache folder, and ``incr`` keeps the expiry. With REDIS_URL set, Redis is
the cache instead (atomic on its own).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import random
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files.move import file_move_safe

LOCK_NAME = ".lock"
CULL_EVERY = 50


class SharedFileCache(FileBasedCache):
    # FileBasedCache's own helpers, which django-stubs does not declare.
    _dir: str
    _max_entries: int
    _cull_frequency: int
    _createdir: Callable[[], None]
    _key_to_file: Callable[[str, int | None], str]
    _delete: Callable[[str], bool]
    _list_cache_files: Callable[[], list[str]]
    _is_expired: Callable[[BinaryIO], bool]
    _sets = 0  # new entries written by this process (see _cull)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        fd = os.open(Path(self._dir) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def add(
        self,
        key: str,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        with self._locked():
            return super().add(key, value, timeout, version)

    def counter_add(
        self, key: str, *, amount: int, timeout: int, undo_over: int | None = None
    ) -> int:
        """As config.redis_cache.ProcessRedisCache.counter_add, under one lock."""
        with self._locked():
            super().add(key, 0, timeout)  # a new counter, with its expiry
            total = self._incr_unlocked(key, amount)
            if undo_over is not None and total > undo_over:
                self._incr_unlocked(key, -amount)
            return total

    def add_or_get(self, key: str, value: Any, *, timeout: int) -> Any:
        """As config.redis_cache.ProcessRedisCache.add_or_get, under one lock."""
        with self._locked():
            if super().add(key, value, timeout):
                return value
            stored = super().get(key)
            return value if stored is None else stored

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        with self._locked():
            return self._incr_unlocked(key, delta, version)

    def _incr_unlocked(self, key: str, delta: int, version: int | None = None) -> int:
        fname = self._key_to_file(key, version)
        try:
            # Read as Django's file cache reads them: files of this service's own,
            # 0600 in a 0700 folder, that nobody else can write.
            with open(fname, "rb") as f:
                expiry = pickle.load(f)  # noqa: S301  # nosec B301
                value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301  # nosec B301
        except (FileNotFoundError, EOFError):
            raise ValueError(f"Key '{key}' not found") from None
        if expiry is not None and expiry < time.time():
            self._delete(fname)
            raise ValueError(f"Key '{key}' not found")
        new_value: int = value + delta
        fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        with open(fd, "wb") as out:
            out.write(pickle.dumps(expiry, self.pickle_protocol))
            out.write(zlib.compress(pickle.dumps(new_value, self.pickle_protocol)))
        file_move_safe(tmp_path, fname, allow_overwrite=True)
        return new_value

    def _cull(self) -> None:
        # Listing the folder costs ~1 ms per thousand entries: look only on every
        # CULL_EVERY-th new entry of this process (the cache may overshoot by that much).
        self._sets += 1
        if self._sets % CULL_EVERY:
            return
        # Throttle counters outlive their hour as files: drop expired entries first, so that
        # culling never resets a live counter while dead ones are left.
        files = self._list_cache_files()
        if len(files) < self._max_entries:
            return
        live = []
        for fname in files:
            try:
                with open(fname, "rb") as f:
                    if not self._is_expired(f):  # deletes the file when it has expired
                        live.append(fname)
            except FileNotFoundError:
                continue
        if len(live) >= self._max_entries:
            # Still full (a flood of clients): Django's rule, a random share goes.
            for fname in random.sample(live, len(live) // max(self._cull_frequency, 1)):
                self._delete(fname)


def counter_add(key: str, *, amount: int, timeout: int, undo_over: int | None = None) -> int:
    """Add ``amount`` to the default cache's counter ``key`` (made with ``timeout`` when
    new) and return the total; over ``undo_over`` (when given) the amount is taken back.
    One atomic step on both of Testigo's caches (config.redis_cache for Redis)."""
    backend = caches["default"]
    own = getattr(backend, "counter_add", None)
    if own is not None:
        return int(own(key, amount=amount, timeout=timeout, undo_over=undo_over))
    # Any other cache: the same in separate steps (add is atomic; incr is on Redis).
    backend.add(key, 0, timeout=timeout)
    total = int(backend.incr(key, amount))
    if undo_over is not None and total > undo_over:
        backend.decr(key, amount)
    return total


def add_or_get(key: str, value: Any, *, timeout: int) -> Any:
    """The value stored under ``key`` in the default cache: the one already there, or else
    ``value``, stored now. One step on both of Testigo's caches."""
    backend = caches["default"]
    own = getattr(backend, "add_or_get", None)
    if own is not None:
        return own(key, value, timeout=timeout)
    backend.add(key, value, timeout=timeout)
    stored = backend.get(key)
    return value if stored is None else stored

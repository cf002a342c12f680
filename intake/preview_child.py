"""The long-lived, resource-limited child that decodes sanitized files (intake/preview.py
serve): started on first use by each worker process, fed one file at a time over a pipe.

A Python start-up with Pillow costs about 0.3 s of CPU, more than a reduced decode of a
12 MP photo; one child serving many files pays it once. What a child per file gave is kept:
the same address-space cap, the same CPU-time cap per file (see intake/preview.py serve),
and a child that crashes, is killed by a limit, or overruns the wall-time limit costs only
that file its preview: it is killed and the next file gets a new child. After
``files_per_child`` files the child is replaced anyway, which bounds its CPU-time hard limit
and whatever a decoder leaks. No Django here: the caller passes the settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from intake.sanitize.exiftool import close_pipes


class PreviewChild:
    """One ``python -m intake.preview serve`` process at a time, one file at a time."""

    def __init__(
        self, *, memory_mb: int, cpu_s: int, files_per_child: int, cwd: Path | str
    ) -> None:
        self.memory_mb = memory_mb
        self.cpu_s = cpu_s
        self.files_per_child = max(1, files_per_child)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.served = 0
        self._lock = threading.Lock()

    @property
    def limits(self) -> tuple[int, int, int]:
        return (self.memory_mb, self.cpu_s, self.files_per_child)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def make(self, *, kind: str, src: Path, dst: Path, max_pixels: int) -> dict[str, Any]:
        """The child's answer for one file (see begin)."""
        with self.begin(kind=kind, src=src, dst=dst, max_pixels=max_pixels) as answer:
            return answer()

    @contextlib.contextmanager
    def begin(
        self, *, kind: str, src: Path, dst: Path, max_pixels: int
    ) -> Iterator[Callable[[], dict[str, Any]]]:
        """Send one file to the child and yield a function that waits for its answer, so
        the caller can do other work (the ExifTool check) while the child decodes. The
        answer: {"dhash": ...} once ``dst`` is written, else {"error": ...}
        ("too_many_pixels", an exception's name, "died", "timeout"). Leaving the block
        without asking for the answer kills the child: it must never answer the next file
        with this one's answer.

        A child that had served earlier files and dies on this one may have died of
        something else (killed while idle): the file is tried once more in a new child.
        A new child dying on it is the file's doing: no preview."""
        request = json.dumps(
            {"kind": kind, "src": str(src), "dst": str(dst), "max_pixels": max_pixels}
        ).encode()
        with self._lock:
            process, sent = self._send(request)
            fresh = self.served == 0
            asked = False

            def answer() -> dict[str, Any]:
                nonlocal asked
                asked = True
                got = self._receive(process) if sent else self._died(process)
                if got == {"error": "died"} and not fresh:
                    retry, resent = self._send(request)
                    got = self._receive(retry) if resent else self._died(retry)
                return got

            try:
                yield answer
            finally:
                if not asked:
                    self._stop(process, kill=True)

    def _send(self, request: bytes) -> tuple[subprocess.Popen[bytes], bool]:
        """(the child, whether the request reached it), starting a child when needed."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        process = self.process
        assert process is not None and process.stdin is not None
        try:
            process.stdin.write(request + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            return process, False
        return process, True

    def _died(self, process: subprocess.Popen[bytes]) -> dict[str, Any]:
        self._stop(process, kill=True)
        return {"error": "died"}

    def _receive(self, process: subprocess.Popen[bytes]) -> dict[str, Any]:
        try:
            line = self._answer(process, timeout=self.cpu_s * 2)
        except TimeoutError:
            self._stop(process, kill=True)
            return {"error": "timeout"}
        except BaseException:
            # Interrupted mid-file (the task's soft time limit): its answer may come
            # later, so this child must never serve the next file.
            self._stop(process, kill=True)
            raise
        if line is None:  # ended: a limit, a crash
            return self._died(process)
        self.served += 1
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not (
            isinstance(parsed.get("dhash"), str) or isinstance(parsed.get("error"), str)
        ):
            self._stop(process, kill=True)
            return {"error": "unreadable answer"}
        if parsed.get("error") == "MemoryError":  # the child leaves after saying so
            self._stop(process, kill=True)
        elif self.served >= self.files_per_child:
            self._stop(process, kill=False)
        return parsed

    def close(self) -> None:
        with self._lock:
            if self.process is not None:
                self._stop(self.process, kill=False)

    def _start(self) -> None:
        if self.process is not None:
            self._stop(self.process, kill=True)
        self.served = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "intake.preview", "serve", str(self.cpu_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # as before: a decoder's complaints are not kept
            preexec_fn=self._limit,  # workers are processes, not threads
            cwd=self.cwd,
        )

    def _limit(self) -> None:
        """Runs in the child before exec: cap its memory, and its CPU time (per file it
        resets its own soft limit; the hard limit covers its whole life)."""
        memory = self.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        hard = self.cpu_s * (self.files_per_child + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_s, hard))

    def _answer(self, process: subprocess.Popen[bytes], timeout: float) -> bytes | None:
        """One answer line; None at EOF; TimeoutError after ``timeout`` seconds."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        deadline = time.monotonic() + timeout
        received = bytearray()
        while b"\n" not in received:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                received += chunk
        return bytes(received.split(b"\n", 1)[0])

    def _stop(self, process: subprocess.Popen[bytes], *, kill: bool) -> None:
        """End the child: at once, or by closing its stdin (it ends at EOF)."""
        if self.process is process:
            self.process = None
        if not kill and process.stdin is not None:
            try:
                process.stdin.close()
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill and process.poll() is None:
            process.kill()
        process.wait()
        close_pipes(process)


_children: list[PreviewChild] = []
_children_lock = threading.Lock()


def preview_child(
    *, memory_mb: int, cpu_s: int, files_per_child: int, cwd: Path | str
) -> PreviewChild:
    """This process's child, replaced when the limits asked for have changed."""
    limits = (memory_mb, cpu_s, max(1, files_per_child))
    with _children_lock:
        if _children and _children[0].limits != limits:
            _children.pop().close()
        if not _children:
            _children.append(
                PreviewChild(
                    memory_mb=memory_mb, cpu_s=cpu_s, files_per_child=files_per_child, cwd=cwd
                )
            )
        return _children[0]


def preview_child_close() -> None:
    """Stop this process's child (a worker process shutting down)."""
    with _children_lock:
        children = list(_children)
        _children.clear()
    for child in children:
        child.close()


def _forget_after_fork() -> None:
    """In a process made by fork(): the parent's child is the parent's. Close our copies of
    its pipes, so that it still sees EOF when the parent lets go."""
    global _children_lock
    _children_lock = threading.Lock()
    for child in _children:
        process, child.process = child.process, None
        child._lock = threading.Lock()
        close_pipes(process)
    _children.clear()


os.register_at_fork(after_in_child=_forget_after_fork)

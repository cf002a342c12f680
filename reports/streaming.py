"""Sanitized media as HTTP responses: streamed from the media storage, with byte ranges.

The file is read in 64 KiB blocks as the client takes them (reports.storage reads an
object in ranges, never whole), so a 1 GB video costs the web process no more memory
than a photo. A single ``Range: bytes=…`` is answered 206 with that part only: a video
player seeks and a cut download resumes without fetching everything again; a range past
the end is 416; several ranges at once get the whole file (200), as RFC 9110 allows.
Only sanitized media comes here (promise 1); every response forbids caching and script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.core.files.storage import storages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

BLOCK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(Exception):
    pass


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range within ``size``; None for no range
    or one we answer with the whole file. Raises Unsatisfiable for a range past the end."""
    found = _RANGE.match(header.strip().replace(" ", ""))
    if found is None:
        return None
    first_text, last_text = found.groups()
    if not first_text:
        if not last_text or int(last_text) == 0:
            raise Unsatisfiable
        return max(0, size - int(last_text)), size - 1  # the last N bytes
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or (last_text and int(last_text) < first):
        raise Unsatisfiable
    return first, last


class _Window:
    """Bytes first..last of an open file, in blocks; closing it closes the file."""

    def __init__(self, opened: IO[bytes], first: int, length: int) -> None:
        self._file = opened
        self._first = first
        self._left = length

    def __iter__(self) -> Iterator[bytes]:
        self._file.seek(self._first)
        while self._left > 0:
            block = self._file.read(min(BLOCK_BYTES, self._left))
            if not block:
                return
            self._left -= len(block)
            yield block

    def close(self) -> None:
        self._file.close()


def media_response(request: HttpRequest, name: str, content_type: str) -> HttpResponseBase:
    """The media file ``name``: whole (200), one range of it (206), or 416."""
    opened = storages["media"].open(name, "rb")
    size = int(opened.size or 0)
    try:
        wanted = byte_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        opened.close()
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return _private(refused)
    response: HttpResponse | StreamingHttpResponse | FileResponse
    if wanted is None:
        response = FileResponse(opened, content_type=content_type)
    else:
        first, last = wanted
        response = StreamingHttpResponse(
            _Window(opened, first, last - first + 1), status=206, content_type=content_type
        )
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    return _private(response)


def _private[R: HttpResponse | StreamingHttpResponse](response: R) -> R:
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    # Even a crafted file cannot run script in our origin.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    )
    return response

"""Encryption at rest for uploads: plaintext never touches disk (design promise 2).

Uploads are encrypted chunk by chunk as they stream in, with a fresh AES-256-GCM key per
file wrapped by the deployment's quarantine key. Ciphertext is cut into fixed segments
(each its own nonce and tag, the last one flagged final), so the worker can decrypt with
random access and truncation or reordering is detected.

The header names the key that wrapped the file key (format ``TQv2``: its ID, from
reports/keyring.py), so a file opens under whichever configured key has that ID while
``manage.py rotate_keys`` re-seals old files; ``TQv1`` files (no ID) open under the first
configured key that unwraps them.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import hashlib
import io
import itertools
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from intake.limits import size_limit, upload_kind
from intake.sanitize.sniff import HEAD_SIZE
from reports.keyring import KEY_ID_SIZE, Keyring, UnknownKeyError, key_id, keyring_build

MAGIC_V1 = b"TQv1"
MAGIC = b"TQv2"
SEGMENT = 64 * 1024
# Plaintext read size when streaming one encrypted file into another.
CHUNK_PLAIN = 1024 * 1024
TAG = 16
_PREFIX = 7
_WRAP_NONCE = 12
_WRAPPED_KEY = 32 + TAG
HEADER_SIZE = len(MAGIC) + _PREFIX + _WRAP_NONCE + _WRAPPED_KEY
# Ciphertext stays in memory up to this size, then spills (still encrypted) to a temp file.
SPOOL_MAX = 8 * 1024 * 1024
# Buffer of a quarantine file written as its upload streams in.
WRITE_BUFFER = 1024 * 1024

logger = logging.getLogger(__name__)


class QuarantineDecryptError(Exception):
    """The quarantine file is corrupt, truncated or was encrypted under another key."""


def quarantine_keyring() -> Keyring:
    return keyring_build(
        current=settings.TESTIGO_QUARANTINE_KEY,
        fallbacks=list(settings.TESTIGO_QUARANTINE_KEY_FALLBACKS),
        info=b"testigo-quarantine",
    )


def master_key() -> bytes:
    """The current quarantine key (new files are sealed under it)."""
    return quarantine_keyring().current.secret


def sealed_key_id(header: bytes) -> bytes | None:
    """The ID of the key a quarantine stream's header names; None for a ``TQv1`` one."""
    return header[len(MAGIC) : len(MAGIC) + KEY_ID_SIZE] if header.startswith(MAGIC) else None


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


class EncryptingWriter:
    """Write plaintext in, ciphertext out to ``sink``. Call ``close()`` to finish."""

    def __init__(self, sink: IO[bytes], key: bytes | None = None) -> None:
        self._sink = sink
        wrapping = key or master_key()
        file_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce = os.urandom(_WRAP_NONCE)
        # The key's ID takes the place of v1's random nonce prefix: the file key is fresh
        # for every file, so its segment nonces need no randomness of their own.
        self._prefix = key_id(wrapping)
        wrapped = AESGCM(wrapping).encrypt(wrap_nonce, file_key, MAGIC + self._prefix)
        self._header = MAGIC + self._prefix + wrap_nonce + wrapped
        self._aead = AESGCM(file_key)
        self._buffer = bytearray()
        self._index = 0
        sink.write(self._header)

    def write(self, data: bytes) -> None:
        # Whole segments are sealed straight from ``data``, without copying it: a large
        # chunk costs one pass. At least one byte stays back, since the final segment is
        # only known at close().
        view = memoryview(data)
        if self._buffer:
            taken = min(len(view), SEGMENT - len(self._buffer))
            self._buffer += view[:taken]
            view = view[taken:]
            if not view:
                return
            self._emit(self._buffer, final=False)
            self._buffer.clear()
        whole = (len(view) - 1) // SEGMENT * SEGMENT
        for start in range(0, whole, SEGMENT):
            self._emit(view[start : start + SEGMENT], final=False)
        self._buffer += view[whole:]

    def close(self) -> None:
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _emit(self, plain: bytes | bytearray | memoryview, *, final: bool) -> None:
        nonce = _nonce(self._prefix, self._index, final)
        self._sink.write(self._aead.encrypt(nonce, plain, self._header))
        self._index += 1


def plaintext_size(ciphertext_size: int) -> int:
    """Size of the plaintext sealed in a quarantine stream of ``ciphertext_size`` bytes."""
    body = ciphertext_size - HEADER_SIZE
    return body - max(1, -(-body // (SEGMENT + TAG))) * TAG


class _SeekablePlaintext(io.RawIOBase):
    """Read-only, seekable plaintext of known ``_size``; subclasses set ``_size`` and
    ``_pos`` and implement ``readinto``."""

    _size: int
    _pos: int

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos


class DecryptingReader(_SeekablePlaintext):
    """A seekable, read-only plaintext view of a quarantine file."""

    def __init__(self, source: BinaryIO, key: bytes | None = None, offset: int = 0) -> None:
        """``offset``: where the stream starts in ``source`` (a legal-hold file has its
        own header in front)."""
        super().__init__()
        self._source = source
        self._base = offset
        source.seek(offset)
        header = source.read(HEADER_SIZE)
        if len(header) != HEADER_SIZE or not header.startswith((MAGIC, MAGIC_V1)):
            raise QuarantineDecryptError("not a quarantine file")
        self._header = header
        self._prefix = header[4 : 4 + _PREFIX]
        self._aead = AESGCM(_file_key_unwrap(header, key))
        body = source.seek(0, io.SEEK_END) - offset - HEADER_SIZE
        stride = SEGMENT + TAG
        self._segments = max(1, -(-body // stride))
        self._size = body - self._segments * TAG
        if self._size < 0:
            raise QuarantineDecryptError("truncated")
        self._pos = 0
        self._cached_index = -1
        self._cached = b""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._pos < self._size:
            index, within = divmod(self._pos, SEGMENT)
            segment = self._segment(index)
            step = min(len(view) - written, len(segment) - within)
            view[written : written + step] = segment[within : within + step]
            written += step
            self._pos += step
        return written

    def _segment(self, index: int) -> bytes:
        if index != self._cached_index:
            final = index == self._segments - 1
            self._source.seek(self._base + HEADER_SIZE + index * (SEGMENT + TAG))
            sealed = self._source.read(SEGMENT + TAG)
            try:
                self._cached = self._aead.decrypt(
                    _nonce(self._prefix, index, final), sealed, self._header
                )
            except InvalidTag as exc:
                raise QuarantineDecryptError(f"segment {index} failed authentication") from exc
            self._cached_index = index
        return self._cached


def _file_key_unwrap(header: bytes, key: bytes | None) -> bytes:
    wrap_nonce = header[4 + _PREFIX : 4 + _PREFIX + _WRAP_NONCE]
    wrapped = header[4 + _PREFIX + _WRAP_NONCE :]
    named = sealed_key_id(header)
    aad = MAGIC + header[4 : 4 + _PREFIX] if named is not None else MAGIC_V1
    if key is not None:
        candidates = [key]
    elif named is not None:
        try:
            candidates = [quarantine_keyring().find(named).secret]
        except UnknownKeyError as exc:
            raise QuarantineDecryptError(str(exc)) from exc
    else:
        candidates = [candidate.secret for candidate in quarantine_keyring().all]
    for candidate in candidates:
        try:
            return AESGCM(candidate).decrypt(wrap_nonce, wrapped, aad)
        except InvalidTag:
            continue
    raise QuarantineDecryptError("wrong key or corrupt header")


class ConcatenatedReader(_SeekablePlaintext):
    """A seekable plaintext view of several quarantine streams read one after another: a
    resumable upload is stored as one encrypted part per segment (intake.segments). Parts
    are opened one at a time, so a thousand parts do not hold a thousand files open."""

    def __init__(
        self, openers: Sequence[Callable[[], BinaryIO]], sizes: Sequence[int], key: bytes | None
    ) -> None:
        super().__init__()
        self._openers = openers
        self._starts = [0, *itertools.accumulate(sizes)][: len(sizes)]
        self._sizes = list(sizes)
        self._size = sum(sizes)
        self._key = key
        self._pos = 0
        self._open_index = -1
        self._source: BinaryIO | None = None
        self._reader: DecryptingReader | None = None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._pos < self._size:
            index = self._part_at(self._pos)
            reader = self._part(index)
            reader.seek(self._pos - self._starts[index])
            step = reader.readinto(view[written:])
            if not step:
                raise QuarantineDecryptError(f"part {index} is shorter than recorded")
            written += step
            self._pos += step
        return written

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        super().close()

    def _part_at(self, pos: int) -> int:
        # A resumable upload has a part per stored segment: thousands for a large video.
        index = bisect.bisect_right(self._starts, pos) - 1
        while index > 0 and not self._sizes[index]:
            index -= 1
        return max(index, 0)

    def _part(self, index: int) -> DecryptingReader:
        if index != self._open_index or self._reader is None:
            if self._source is not None:
                self._source.close()
            self._source = self._openers[index]()
            self._reader = DecryptingReader(self._source, self._key)
            if self._reader.size != self._sizes[index]:
                raise QuarantineDecryptError(f"part {index} has an unexpected size")
            self._open_index = index
        return self._reader


class EncryptedUpload(UploadedFile[bytes]):
    """An upload as it arrived: ciphertext only, with facts about the plaintext.

    ``stored_name``: the quarantine file its ciphertext was written to as it streamed in
    ("" when the ciphertext is in ``file``, still to be stored). Whoever receives the
    upload records that file on a row (``stored_take``) or deletes it (``discard``).
    ``storage_failed``: writing it failed; nothing of it is kept. ``disk_full``: because
    the disk had no room left for it."""

    def __init__(
        self,
        ciphertext: IO[bytes],
        *,
        size: int,
        sha256: str,
        head: bytes,
        too_large: bool,
        stored_name: str = "",
        storage_failed: bool = False,
        disk_full: bool = False,
    ) -> None:
        # The witness's file name can identify them; it is neither used nor kept.
        super().__init__(ciphertext, name="upload", content_type="application/octet-stream")
        self.size = size
        self.sha256 = sha256
        self.head = head
        self.too_large = too_large
        self.stored_name = stored_name
        self.storage_failed = storage_failed
        self.disk_full = disk_full

    def stored_take(self) -> str:
        """The quarantine file, now the caller's to record (and to delete on failure)."""
        name, self.stored_name = self.stored_name, ""
        return name

    def discard(self) -> None:
        """Delete the quarantine file unless someone took it; safe to call twice."""
        if self.stored_name:
            quarantine_file_delete(self.stored_take())


def quarantine_file_create() -> tuple[str, IO[bytes]] | None:
    """A new quarantine file, open for writing ciphertext as an upload streams in, and
    its storage name; None when the quarantine is not a local folder (an object store:
    the ciphertext is spooled, then stored whole)."""
    storage = storages["quarantine"]
    if not isinstance(storage, FileSystemStorage):
        return None
    name = f"{uuid.uuid4().hex}.tq"
    path = Path(storage.path(name))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Only this service's user may read it, as FILE_UPLOAD_PERMISSIONS says for saves.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return name, os.fdopen(fd, "wb", buffering=WRITE_BUFFER)


def quarantine_file_delete(name: str) -> None:
    try:
        storages["quarantine"].delete(name)
    except OSError:
        logger.exception("removing an unrecorded quarantine file failed")


class EncryptingUploadHandler(FileUploadHandler):
    """Django upload handler that encrypts every file part as it streams in.

    With ``direct`` (a subclass that sees every upload it makes to its end:
    intake.receiving.TextFirstHandler), the ciphertext goes straight into a new quarantine
    file, written once; otherwise it is spooled, and stored by whoever takes the upload."""

    direct = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        created = None
        if self.direct:
            try:
                created = quarantine_file_create()
            except OSError as exc:
                # Spooled instead: storing it later meets the same fault and refuses the
                # file, never the post.
                logger.error("opening a quarantine file failed: %s", exc)
        self._stored_name = ""
        self._ciphertext: IO[bytes]
        if created is None:
            self._ciphertext = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115
        else:
            self._stored_name, self._ciphertext = created
        self._writer = EncryptingWriter(self._ciphertext)
        self._digest = hashlib.sha256()
        self._head = b""
        self._size = 0
        self._too_large = False
        self._storage_failed = False
        self._disk_full = False
        self._limit = int(settings.TESTIGO_MAX_UPLOAD_BYTES)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._size += len(raw_data)
        if len(self._head) < HEAD_SIZE:
            self._head += raw_data[: HEAD_SIZE - len(self._head)]
            if len(self._head) == HEAD_SIZE:
                # Images have a lower limit than video: known as soon as the head is in.
                self._limit = size_limit(upload_kind(self._head))
        if self._too_large or self._storage_failed or self._size > self._limit:
            # Keep reading (the rest of the form still matters) but keep nothing more.
            self._too_large = not self._storage_failed
            self._abandon()
            return None
        self._digest.update(raw_data)
        try:
            self._writer.write(raw_data)
        except OSError as exc:
            # The quarantine's disk is full (or failing): this file is refused, not the post.
            self._write_failed(exc)
        return None

    def _write_failed(self, exc: OSError) -> None:
        logger.error("writing an upload to quarantine failed: %s", exc)
        self._storage_failed = True
        self._disk_full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        self._abandon()

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        return self.encrypted_upload()

    def upload_interrupted(self) -> None:
        """The post ended inside a file (a cut connection): none of it is kept."""
        self.incomplete_discard()

    def incomplete_discard(self) -> None:
        """Delete the quarantine file of a file part still arriving (the post failed)."""
        if getattr(self, "_stored_name", ""):
            self._abandon()

    def _abandon(self) -> None:
        """Keep nothing more of this file: its quarantine file, if any, is deleted now,
        and what is still sealed goes nowhere."""
        if self._stored_name:
            with contextlib.suppress(OSError):
                self._ciphertext.close()
            quarantine_file_delete(self._stored_name)
            self._stored_name = ""
            self._ciphertext = io.BytesIO()
            self._writer = EncryptingWriter(self._ciphertext)

    def encrypted_upload(self) -> EncryptedUpload:
        """The file just received, sealed."""
        if self._size > size_limit(upload_kind(self._head)):
            self._too_large = True
            self._abandon()
        try:
            self._writer.close()
            if self._stored_name:
                self._ciphertext.close()
        except OSError as exc:
            self._write_failed(exc)
        if not self._stored_name:
            self._ciphertext.seek(0)
        upload = EncryptedUpload(
            self._ciphertext,
            size=self._size,
            sha256=self._digest.hexdigest(),
            head=self._head,
            too_large=self._too_large,
            stored_name=self._stored_name,
            storage_failed=self._storage_failed,
            disk_full=self._disk_full,
        )
        self._stored_name = ""  # the upload's now
        return upload

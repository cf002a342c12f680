"""The S3-compatible storage backend: reads that stream, outages that say so.

django-storages' S3File downloads a whole object on the first read (into memory with
its default ``max_memory_size``); a worker opening a 1 GB video, or a media view serving
one, would hold all of it. ``StreamingS3Storage`` opens objects as ``ObjectReader``: a
seekable reader that fetches the bytes it is asked for with ranged GETs, so memory stays
bounded whatever the object's size, and the media views can answer HTTP Range requests.
Uploads go through s3transfer with few chunks in flight, for the same reason.

Every failure to reach the store (connection refused, timeout, a 5xx, a bucket that
does not exist) is raised as ``StorageUnavailable``, an OSError: the intake refuses the
file with "try again" and keeps the report's text (promise 7), and the worker puts the
item back to wait without counting an attempt (intake/pipeline.py)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# Parts of a large upload are 8 MiB; at most two are read ahead of the network.
_CHUNK_BYTES = 8 << 20
# An unreachable store is reported within seconds, not after botocore's 60 s default.
_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
    signature_version="s3v4",
    s3={"addressing_style": "path"},
)
_MISSING = ("404", "NoSuchKey", "NotFound")


class StorageUnavailable(OSError):
    """The object store could not be reached or refused to work; nothing was lost, the
    operation may be tried again later."""


def _unavailable(exc: Exception) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return StorageUnavailable(f"object store refused: {code}")
    return StorageUnavailable(f"object store unreachable: {type(exc).__name__}")


def _store_errors[T](method: Callable[..., T]) -> Callable[..., T]:
    """Raise the store's own errors as StorageUnavailable; a missing object stays a
    FileNotFoundError (django-storages' convention)."""

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _MISSING:
                raise FileNotFoundError(str(args[1:2])) from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    return wrapped


class ObjectReader(io.RawIOBase):
    """A seekable, read-only view of one object. Reading fetches from the current
    position onward in one streamed GET; a seek drops that stream and the next read
    starts another at the new position. Nothing is read ahead beyond the caller's
    buffer."""

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self.size = size
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        position = max(0, base + offset)
        if position != self._position:
            self._drop_body()
            self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self._position)
        if want <= 0:
            return 0
        try:
            if self._body is None:
                self._body = self._client.get_object(
                    Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-"
                )["Body"]
            data = self._body.read(want)
        except (BotoCoreError, ClientError) as exc:
            self._drop_body()
            raise _unavailable(exc) from exc
        if not data:
            raise StorageUnavailable("object store ended the object early")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


class ObjectFile(File):  # type: ignore[type-arg]
    """What ``storage.open`` returns: a buffered ObjectReader that knows its size."""

    def __init__(self, reader: ObjectReader, name: str) -> None:
        super().__init__(io.BufferedReader(reader, buffer_size=1 << 16), name)
        self.size = reader.size


class StreamingS3Storage(S3Storage):
    """S3Storage with streamed reads, bounded uploads and StorageUnavailable."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("client_config", _CLIENT_CONFIG)
        transfer = TransferConfig(
            multipart_threshold=_CHUNK_BYTES,
            multipart_chunksize=_CHUNK_BYTES,
            max_concurrency=2,
        )
        # s3transfer reads parts ahead into memory: two at most (its default is ten).
        transfer.max_in_memory_upload_chunks = 2
        settings.setdefault("transfer_config", transfer)
        super().__init__(**settings)

    @_store_errors
    def _open(self, name: str, mode: str = "rb") -> File:  # type: ignore[type-arg]
        if "w" in mode or "a" in mode or "+" in mode:
            opened: File = super()._open(name, mode)  # type: ignore[type-arg]
            return opened
        key = self._normalize_name(clean_name(name))
        client = self.connection.meta.client
        size = int(client.head_object(Bucket=self.bucket_name, Key=key)["ContentLength"])
        return ObjectFile(ObjectReader(client, self.bucket_name, key, size), name)

    @_store_errors
    def _save(self, name: str, content: Any) -> str:
        saved: str = super()._save(name, content)
        return saved

    @_store_errors
    def delete(self, name: str) -> None:
        super().delete(name)

    @_store_errors
    def exists(self, name: str) -> bool:
        found: bool = super().exists(name)
        return found

    @_store_errors
    def size(self, name: str) -> int:
        size: int = super().size(name)
        return size

    @_store_errors
    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        listed: tuple[list[str], list[str]] = super().listdir(name)
        return listed

    @_store_errors
    def bucket_ensure(self) -> bool:
        """Create this storage's bucket unless it exists; True when it was created."""
        client = self.connection.meta.client
        try:
            client.head_bucket(Bucket=self.bucket_name)
            return False
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) not in ("404", "NoSuchBucket"):
                raise
        try:
            client.create_bucket(Bucket=self.bucket_name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
            return False
        return True

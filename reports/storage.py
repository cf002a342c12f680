"""The S3-compatible storage backend: reads that stream, outages that say so.

django-storages' S3File downloads a whole object on the first read (into memory with
its default ``max_memory_size``); a worker opening a 1 GB video, or a media view serving
one, would hold all of it. ``StreamingS3Storage`` opens objects as ``ObjectReader``: a
seekable reader that fetches the bytes it is asked for with ranged GETs, so memory stays
bounded whatever the object's size, and the media views can answer HTTP Range requests.
Uploads go part by part (5 MiB), each read from the file as it is sent, and every bucket
of one endpoint shares one boto3 client per thread, for the same reason.

Every failure to reach the store (connection refused, timeout, a 5xx, a bucket that
does not exist) is raised as ``StorageUnavailable``, an OSError: the intake refuses the
file with "try again" and keeps the report's text (promise 7), and the worker puts the
item back to wait without counting an attempt (intake/pipeline.py)."""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Callable
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# Parts of a large upload: S3's smallest (5 MiB), one in memory at a time.
_CHUNK_BYTES = 5 << 20
# An unreachable store is reported within seconds, not after botocore's 60 s default.
_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
    # No checksum computed over bodies the store does not ask one for.
    request_checksum_calculation="when_required",
    signature_version="s3v4",
    s3={"addressing_style": "path"},
)
_MISSING = ("404", "NoSuchKey", "NotFound")
_per_thread = threading.local()


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


class _Window(io.RawIOBase):
    """Bytes offset..offset+length of a seekable file, as a file of their own: botocore
    reads a request body from it in small blocks (and seeks back to sign or retry)."""

    def __init__(self, source: Any, offset: int, length: int) -> None:
        super().__init__()
        self._source = source
        self._offset = offset
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = min(max(0, base + offset), self._length)
        return self._position

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._length - self._position)
        if want <= 0:
            return 0
        self._source.seek(self._offset + self._position)
        data = self._source.read(want)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def __len__(self) -> int:
        return self._length


class ObjectFile(File):  # type: ignore[type-arg]
    """What ``storage.open`` returns: a buffered ObjectReader that knows its size."""

    def __init__(self, reader: ObjectReader, name: str) -> None:
        super().__init__(io.BufferedReader(reader, buffer_size=1 << 16), name)
        self.size = reader.size


class StreamingS3Storage(S3Storage):
    """S3Storage with streamed reads, bounded uploads and StorageUnavailable."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("client_config", _CLIENT_CONFIG)
        # For storage.open(name, "wb") and unseekable content only (_save uploads seekable
        # files itself): one part at a time, in the calling thread; s3transfer's threads
        # read up to ten parts ahead into memory.
        transfer = TransferConfig(
            multipart_threshold=_CHUNK_BYTES,
            multipart_chunksize=_CHUNK_BYTES,
            max_concurrency=1,
            use_threads=False,
        )
        settings.setdefault("transfer_config", transfer)
        super().__init__(**settings)

    @property
    def connection(self) -> Any:
        """One boto3 resource per thread for every storage on the same endpoint and
        credentials: each would otherwise load botocore's S3 model anew (~14 MB apiece
        measured, three storages in a worker)."""
        key = (self.endpoint_url, self.access_key, self.region_name)
        shared: dict[tuple[Any, ...], Any] = getattr(_per_thread, "resources", {})
        _per_thread.resources = shared
        if key not in shared:
            shared[key] = super().connection
        return shared[key]

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
        """Upload ``content`` part by part, each part read from the file as it is sent
        (s3transfer reads whole parts into memory, several at once)."""
        source = getattr(content, "file", content)
        if not (hasattr(source, "seekable") and source.seekable()):
            saved: str = super()._save(name, content)
            return saved
        cleaned: str = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        client = self.connection.meta.client
        size = source.seek(0, io.SEEK_END)
        if size <= _CHUNK_BYTES:
            body = _Window(source, 0, size)
            client.put_object(Bucket=self.bucket_name, Key=key, Body=body, **params)
            return cleaned
        upload = client.create_multipart_upload(Bucket=self.bucket_name, Key=key, **params)
        upload_id = upload["UploadId"]
        try:
            parts = []
            for number, offset in enumerate(range(0, size, _CHUNK_BYTES), start=1):
                body = _Window(source, offset, min(_CHUNK_BYTES, size - offset))
                sent = client.upload_part(
                    Bucket=self.bucket_name,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
                parts.append({"ETag": sent["ETag"], "PartNumber": number})
            client.complete_multipart_upload(
                Bucket=self.bucket_name,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except Exception:
            # Nothing half-written: the store drops the parts (best effort when it is
            # the store that failed; its lifecycle rules clear what is left).
            with contextlib.suppress(BotoCoreError, ClientError):
                client.abort_multipart_upload(Bucket=self.bucket_name, Key=key, UploadId=upload_id)
            raise
        return cleaned

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

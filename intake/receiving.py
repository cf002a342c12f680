"""Receiving a witness's multipart post as it streams in: the text first, then each file.

Without JavaScript, a report with a photo is one multipart post that can take minutes on
a phone's uplink, and the connection may die on the way (promise 9). So the body is
parsed as it arrives, by Django's own parser driven by ``TextFirstHandler``:

1. When the first file part begins, every text part before it has been read (our forms
   put their file inputs last). The text is checked (CSRF, validation) and committed at
   once: from then on a cut connection cannot take it away.
2. Each file is encrypted as it streams, straight into its quarantine file
   (intake.quarantine: the ciphertext is written once), and its media row is committed
   as soon as it is complete: whatever happens to the rest of the post, even a process
   killed the next instant, the bytes that arrived are kept (promise 9).
3. When the post ends, complete or cut, a report with no file still in flight moves on to
   the moderation queue.

If the text cannot be accepted when the first file begins (invalid, or a client that
sends its text after its files), nothing is committed early: the files are kept
encrypted until the end and everything is judged together, as for a plain post. Text
parts that come after a file, once the text is committed, are not read (the intake API
documents that text goes first).
"""

from __future__ import annotations

import copy
import enum
import logging
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import SkipFile
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.datastructures import MultiValueDict

from intake.forms import FollowUpForm, ReportForm
from intake.quarantine import EncryptedUpload, EncryptingUploadHandler
from intake.receipts import receipt_code_new
from intake.segments import database_connection_release
from intake.services import RefusedUpload, report_media_add, submission_submit
from intake.throttle import budget_client
from reports import selectors
from reports.models import RefusalReason, Report
from reports.services import (
    media_item_reject_on_receipt,
    report_message_reply,
    report_settle_if_ready,
)

logger = logging.getLogger(__name__)

# Body reads while the text parts come in (as small as Django's default chunk), then
# the size of the chunks files are parsed, hashed and sealed in.
TEXT_READ = 64 * 1024
FILE_CHUNK = 1024 * 1024
# A post still arriving after this long is slow (a phone's uplink): between its reads it
# holds no database connection. A faster one keeps its connection for the next file's rows.
SLOW_POST_S = 1.0


class Text(enum.Enum):
    COMMITTED = "committed"
    # Not acceptable yet: keep the files and judge again with the whole post.
    LATER = "later"
    # Decided: nothing of this post is kept (a bot's post, or an invalid form at the end).
    NOTHING = "nothing"


class TextFirst:
    """One multipart post received text first. Subclasses define ``text_accept`` and set
    ``self.report`` to the report their files go to."""

    csrf_protected = True
    file_field = "attachments"

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.report: Report | None = None
        # A response that refuses the whole post (CSRF); nothing was kept.
        self.refusal: HttpResponse | None = None
        self.text: Text | None = None
        self.early = False
        self.interrupted = False
        self.body_complete = True
        self.files_seen = 0
        # The names the phone gave the files, for this answer only: never stored or logged.
        self.file_names: list[str] = []
        self.refused: list[RefusedUpload] = []
        self._csrf_checked = False
        # The throttle's daily HMAC of the client, for its byte budget (intake/budgets.py).
        self.client = budget_client(request)
        self._started = time.monotonic()
        self._connection_used = False

    @property
    def committed(self) -> bool:
        return self.text is Text.COMMITTED

    def text_accept(
        self, fields: QueryDict, files: Sequence[UploadedFile[bytes]], *, early: bool
    ) -> Text:
        """Judge and commit the text; when not ``early``, ``files`` are this post's files,
        to be committed with it. ``early``: the first file is beginning (``files`` is
        empty), and the files that follow go to ``file_store`` once this commits."""
        raise NotImplementedError

    # --- The flow ---------------------------------------------------------------------------

    def receive(self) -> None:
        """Parse the post (the request's body) and commit what it carries."""
        handler = TextFirstHandler(self.request, self)
        self.request.upload_handlers = [handler]
        try:
            self._receive(handler)
        finally:
            # Files written to quarantine as they arrived that no row took (a refused or
            # failed post, a cut file): nothing of them stays.
            handler.incomplete_discard()
            for upload in handler.uploads:
                upload.discard()

    def _receive(self, handler: TextFirstHandler) -> None:
        try:
            fields, files = self.request.POST, self.request.FILES
        except OSError:
            # The connection failed, or went silent past the idle limit, mid-post.
            fields, files = QueryDict(), MultiValueDict()
            self.body_complete = False
        except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
            if not self.committed:
                raise  # refused whole, as Django refuses it (400); nothing was kept
            # The rest of the post is refused (malformed, or past Django's part limits);
            # the committed text and the files stored before stay.
            fields, files = QueryDict(), MultiValueDict()
            self.body_complete = False
        self.interrupted = not self.body_complete
        if self.text is None or (self.text is Text.LATER and self.body_complete):
            # No file came first, or the text could not be judged then: judge it now,
            # with everything, unless the post was cut (a truncated field is not the
            # witness's text).
            self.text = None
            if self.body_complete and self._csrf_ok(fields):
                self.text = self.text_accept(fields, files.getlist(self.file_field), early=False)
        if self.early and self.committed and self.report is not None:
            # Cut or complete: with no file still in flight, the text goes on to moderation.
            # While one is, the worker that settles the last one moves the report on (under
            # the report's lock), so that case needs no lock here.
            try:
                if not selectors.report_media_in_flight(report=self.report):
                    report_settle_if_ready(report=self.report)
            except Exception:
                # The report is committed; the sweeper moves it on. The witness still gets
                # the receipt.
                logger.exception("settling a streamed report failed")

    def early_text(self, fields: QueryDict) -> None:
        if self._csrf_ok(fields):
            self.text = self.text_accept(fields, [], early=True)
            self.early = self.committed
            self._connection_used = self.early

    def file_begins(self, field_name: str) -> bool:
        """A file part begins; False when it is to be read past, not kept."""
        if field_name != self.file_field or self.refusal is not None:
            return False
        if self.text is Text.NOTHING:
            return False
        self.files_seen += 1
        if not self.committed or self.files_seen <= settings.TESTIGO_MAX_FILES:
            return True
        # One file too many for one post: refused with a row, as a plain post would be.
        assert self.report is not None
        try:
            media_item_reject_on_receipt(
                report=self.report,
                position=selectors.report_next_position(report=self.report),
                size=0,
                sha256="",
                reason=RefusalReason.TOO_MANY_FILES,
            )
        except Exception:
            logger.exception("recording a refused file failed")
        self.refused.append(RefusedUpload(self.files_seen - 1, RefusalReason.TOO_MANY_FILES))
        return False

    def file_store(self, upload: EncryptedUpload) -> None:
        """A file is complete and the text committed: store it with its row now, so what
        arrived is kept whatever happens to the rest of the post."""
        assert self.report is not None
        number = self.files_seen - 1
        try:
            refused = report_media_add(report=self.report, uploads=[upload], client=self.client)
        except Exception:
            # What was committed stays committed; the witness is told this file failed.
            logger.exception("storing file %s of a streamed post failed", number)
            refused = [RefusedUpload(0, RefusalReason.STORAGE_ERROR)]
        finally:
            upload.close()
            self._connection_used = True
        self.refused += [RefusedUpload(number, r.reason) for r in refused]

    def connection_release_if_slow(self) -> None:
        """Before the next read of the body: a slow post may take minutes more, so it gives
        back the database connection it used (the next query opens one again)."""
        if self._connection_used and time.monotonic() - self._started > SLOW_POST_S:
            database_connection_release()
            self._connection_used = False

    def _csrf_ok(self, fields: QueryDict) -> bool:
        if self.csrf_protected and not self._csrf_checked:
            self._csrf_checked = True
            # Django's own check, on a copy of the request holding the fields read so far
            # (the request itself is still being parsed).
            probe = copy.copy(self.request)
            probe._post = fields  # type: ignore[attr-defined]
            probe._files = MultiValueDict()  # type: ignore[attr-defined]
            self.refusal = CsrfViewMiddleware(_unused).process_view(probe, _unused, (), {})
        return self.refusal is None


def _unused(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only process_view is used")


class _CountedInput:
    """The request body as the parser reads it, counted, to tell a cut post from a
    complete one (gunicorn ends a body that stops short without an error).

    Reads are ``TEXT_READ`` bytes at most until the first file part begins, so that on a
    slow uplink the text is judged (and committed) as soon as it is in, then files are
    read in the handler's large chunks."""

    def __init__(self, stream: IO[bytes], receiver: TextFirst) -> None:
        self._stream = stream
        self._receiver = receiver
        self.count = 0

    def read(self, size: int | None = -1, /) -> bytes:
        if self._receiver.files_seen == 0 and (size is None or size < 0 or size > TEXT_READ):
            size = TEXT_READ
        self._receiver.connection_release_if_slow()
        data = self._stream.read(-1 if size is None else size)
        self.count += len(data)
        return data

    def readline(self, limit: int | None = -1, /) -> bytes:
        data = self._stream.readline(-1 if limit is None else limit)
        self.count += len(data)
        return data

    def readlines(self) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


class TextFirstHandler(EncryptingUploadHandler):
    """Django upload handler that runs the parse itself, so that it can hand the text
    parts to its ``TextFirst`` the moment the first file part begins; it then encrypts
    each file as it streams, straight into its quarantine file (``direct``), and hands
    it over complete. ``uploads``: every file it handed over, for ``TextFirst.receive``
    to delete what no row took."""

    direct = True
    # Files are parsed, hashed and sealed in large blocks: fewer trips through Python per
    # megabyte (Django's default is 64 KiB). The text before them is read in small ones.
    chunk_size = FILE_CHUNK

    def __init__(self, request: HttpRequest, receiver: TextFirst) -> None:
        super().__init__(request)
        self._receiver = receiver
        self._parser: MultiPartParser | None = None
        self._skipping = False
        self.uploads: list[EncryptedUpload] = []

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, UploadedFile[Any]]] | None:
        if self._parser is not None:
            return None  # asked again by the parser below: let it parse
        counted = _CountedInput(input_data, self._receiver)
        self._parser = MultiPartParser(META, counted, [self], encoding)
        result = self._parser.parse()
        self._receiver.body_complete = counted.count >= content_length
        return result

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        receiver = self._receiver
        if receiver.text is None and receiver.refusal is None:
            assert self._parser is not None
            # Django's parser keeps the fields read so far here until it returns them.
            receiver.early_text(self._parser._post.copy())  # type: ignore[attr-defined]
        self._skipping = not receiver.file_begins(field_name)
        if self._skipping:
            raise SkipFile
        receiver.file_names.append(str(args[0] if args else kwargs.get("file_name", "")))
        super().new_file(field_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self._skipping:
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        if self._skipping:
            return None
        upload = self.encrypted_upload()
        self.uploads.append(upload)
        if self._receiver.committed:
            self._receiver.file_store(upload)
            return None
        return upload  # kept until the post ends: the text is judged then


class ReportPost(TextFirst):
    """The report form without JavaScript (and its text-only post with JavaScript), and
    the intake API (``csrf_protected`` off, files in ``media`` parts)."""

    def __init__(
        self,
        request: HttpRequest,
        *,
        api: bool = False,
        resumable_uploads_follow: bool = False,
    ) -> None:
        super().__init__(request)
        self.csrf_protected = not api
        self.file_field = "media" if api else "attachments"
        self.resumable_uploads_follow = resumable_uploads_follow
        self.form: ReportForm | None = None
        self.receipt_code = ""
        # The files of a post refused as a whole (an invalid form), by their names.
        self.files_again: list[str] = []

    def text_accept(
        self, fields: QueryDict, files: Sequence[UploadedFile[bytes]], *, early: bool
    ) -> Text:
        self.form = form = ReportForm(
            fields,
            MultiValueDict({"attachments": list(files)}),
            # Early, a file is beginning: words are optional if the description was
            # among the parts already read (left empty); a client sending its text after
            # its files is judged with everything at the end.
            media_follows=self.resumable_uploads_follow or (early and "description" in fields),
        )
        if not form.is_valid():
            if not early:
                # Without the script the browser forgets every chosen file with this
                # answer: the page names them so the witness knows to choose them again.
                self.files_again = list(self.file_names)
            return Text.LATER if early else Text.NOTHING
        if form.is_spam:
            # Answer like a success so a bot learns nothing; store nothing.
            self.receipt_code = receipt_code_new()
            return Text.NOTHING
        # Early, the report waits for the files that follow, as it does for resumable ones.
        result = submission_submit(
            form.submission(),
            resumable_uploads_follow=early or self.resumable_uploads_follow,
            client=self.client,
        )
        self.report, self.receipt_code = result.report, result.receipt_code
        self.refused = list(result.refused)
        return Text.COMMITTED


# Stands for the file whose first bytes are arriving when the follow-up text is judged.
_UPCOMING = object()


class FollowUpPost(TextFirst):
    """The follow-up page's post: a message and files for an existing report."""

    def __init__(self, request: HttpRequest, report: Report) -> None:
        super().__init__(request)
        self.report = report
        self.form: FollowUpForm | None = None

    def text_accept(
        self, fields: QueryDict, files: Sequence[UploadedFile[bytes]], *, early: bool
    ) -> Text:
        attachments: list[Any] = [_UPCOMING] if early else list(files)
        self.form = form = FollowUpForm(fields, MultiValueDict({"attachments": attachments}))
        if not form.is_valid():
            return Text.LATER if early else Text.NOTHING
        assert self.report is not None
        if form.cleaned_data["body"]:
            report_message_reply(report=self.report, body=form.cleaned_data["body"])
        if files:
            self.refused = report_media_add(
                report=self.report, uploads=list(files), client=self.client
            )
        return Text.COMMITTED

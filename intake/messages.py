"""What witnesses are told when something they sent cannot be used, in their language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reports.models import RefusalReason

# One message for every RefusalReason (a unit test holds it to that).
REFUSAL_MESSAGES: dict[str, Promise] = {
    RefusalReason.EMPTY: _("The file is empty."),
    RefusalReason.TOO_LARGE: _("The file is larger than we can accept."),
    RefusalReason.UNSUPPORTED_FORMAT: _(
        "This type of file is not supported. Please send photos, videos or audio recordings."
    ),
    RefusalReason.MALFORMED: _("The file seems damaged and could not be read."),
    RefusalReason.UNSAFE_CONTENT: _("The file could not be made safe to share."),
    RefusalReason.VERIFY_FAILED: _("The file could not be made safe to share."),
    RefusalReason.STORAGE_ERROR: _("The file could not be saved. Please try again."),
    RefusalReason.PROCESSING_FAILED: _("The file could not be processed."),
    RefusalReason.TOO_MANY_FILES: _(
        "Too many files were sent at once. Please send the rest later."
    ),
    RefusalReason.CANCELLED: _("The upload was cancelled."),
    RefusalReason.UPLOAD_EXPIRED: _(
        "The upload was not finished in time. Please send the file again."
    ),
    RefusalReason.REPORT_BUDGET: _(
        "This report already has as many files as we can take. Your report has been saved."
    ),
    RefusalReason.CLIENT_BUDGET: _(
        "Too many files were sent from your connection in the last hour. Your report has "
        "been saved; please send the files again later."
    ),
    RefusalReason.STORAGE_FULL: _(
        "We cannot take files right now. Your report has been saved; please send the files "
        "again later."
    ),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, _("The file could not be used.")))


def size_limits_text(*, image_bytes: int, other_bytes: int) -> str:
    return str(
        _("Photos up to %(image)d MB; videos and audio up to %(other)d MB each.")
        % {"image": image_bytes // (1024 * 1024), "other": other_bytes // (1024 * 1024)}
    )


THROTTLED = _("Too many attempts from your connection. Please wait an hour and try again.")
RECEIPT_UNKNOWN = _("We could not find a report with this code. Please check it and try again.")
UPLOAD_GONE = _("This upload is no longer available. Please send the file again.")
UPLOAD_CONFLICT = _("The upload got out of step. It will continue from where it stopped.")
UPLOAD_BAD_REQUEST = _("The upload could not be understood. Please try again.")

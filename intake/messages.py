"""What witnesses are told when something they sent cannot be used, in their language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from intake.sanitize import errors

REFUSAL_MESSAGES: dict[str, Promise] = {
    "empty": _("The file is empty."),
    errors.TOO_LARGE: _("The file is larger than we can accept."),
    errors.UNSUPPORTED_FORMAT: _(
        "This type of file is not supported. Please send photos, videos or audio recordings."
    ),
    errors.MALFORMED: _("The file seems damaged and could not be read."),
    errors.UNSAFE_CONTENT: _("The file could not be made safe to share."),
    errors.VERIFY_FAILED: _("The file could not be made safe to share."),
    "storage_error": _("The file could not be saved. Please try again."),
    "processing_failed": _("The file could not be processed."),
}


def refusal_message(reason: str) -> str:
    return str(REFUSAL_MESSAGES.get(reason, _("The file could not be used.")))

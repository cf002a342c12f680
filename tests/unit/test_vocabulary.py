"""One vocabulary per concept: refusal reasons shared by the sanitizer, the models and the
witness's messages; one format table for storing and serving media."""

from __future__ import annotations

import pytest
from django.utils import translation

from intake.messages import REFUSAL_MESSAGES
from intake.sanitize import errors as sanitize_errors
from reports.formats import CONTENT_TYPES, EXTENSIONS, FORMATS
from reports.models import AuditAction, AuditEvent, MediaItem, RefusalReason


def _sanitizer_codes() -> set[str]:
    return {
        value
        for name, value in vars(sanitize_errors).items()
        if name.isupper() and isinstance(value, str)
    }


def test_every_sanitizer_error_code_is_a_refusal_reason() -> None:
    codes = _sanitizer_codes()
    assert codes >= {sanitize_errors.MALFORMED, sanitize_errors.VERIFY_FAILED}
    assert codes <= set(RefusalReason.values)


def test_every_refusal_reason_has_a_witness_message() -> None:
    assert set(REFUSAL_MESSAGES) == set(RefusalReason.values)


@pytest.mark.parametrize("language", ["es", "pt-br", "ht"])
def test_every_refusal_message_is_translated(language: str) -> None:
    for reason, message in REFUSAL_MESSAGES.items():
        with translation.override("en"):
            english = str(message)
        with translation.override(language):
            assert str(message) != english, (language, reason)


def test_models_take_their_choices_from_the_vocabularies() -> None:
    assert MediaItem._meta.get_field("reject_reason").choices == RefusalReason.choices
    assert AuditEvent._meta.get_field("action").choices == AuditAction.choices


def test_audit_actions_read_subject_dot_event() -> None:
    for value in AuditAction.values:
        subject, dot, event = value.partition(".")
        assert subject and dot and event, value


def test_format_table_is_consistent() -> None:
    assert set(EXTENSIONS) == set(CONTENT_TYPES) == set(FORMATS)
    for name, fmt in FORMATS.items():
        assert fmt.extension.startswith("."), name
        assert fmt.content_type.startswith(f"{fmt.kind}/"), name

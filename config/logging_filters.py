"""Keep capabilities out of log lines: upload keys and receipt codes are redacted.

A resumable upload's URL (``/tus/<key>/``) is the capability to add to or cancel a witness's
upload, and a receipt code opens their report: anyone who reads a log must learn neither.
Django's request warnings ("Not Found: /tus/<key>/"), gunicorn's error and access lines
and any traceback pass through ``RedactCapabilities``: it is on the handler of Django's
LOGGING (every record that propagates to the root logger) and on gunicorn's own loggers,
which do not propagate (``gunicorn_logs_redact``, called from config/wsgi.py).
"""

from __future__ import annotations

import logging
import re

from intake.receipts import ALPHABET

REDACTED = "[redacted]"
# Everything after /tus/ up to the next separator: the key (token_urlsafe), quoted or not.
_UPLOAD_KEY = re.compile(r"(/tus/)[A-Za-z0-9_\-%=]+")
# Five groups of four receipt symbols, with dashes or run together, in either case.
_SYMBOL = f"[{ALPHABET}{ALPHABET.lower()}]"
_RECEIPT_CODE = re.compile(
    # Not inside a longer dashed token: a UUID's tail is not a receipt code.
    rf"(?<![A-Za-z0-9-]){_SYMBOL}{{4}}(?:-?{_SYMBOL}{{4}}){{4}}(?![A-Za-z0-9-])"
)
GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")


def redact(text: str) -> str:
    text = _UPLOAD_KEY.sub(rf"\g<1>{REDACTED}", text)
    return _RECEIPT_CODE.sub(REDACTED, text)


class RedactCapabilities(logging.Filter):
    """Rewrites a record's message, traceback and stack with capabilities redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            # Formatted here so that the traceback's text can be cleaned too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def gunicorn_logs_redact() -> None:
    """Put the filter on gunicorn's loggers in this process (a no-op outside gunicorn).

    A logger's filter sees every record logged on it, whatever handlers gunicorn's
    configuration gives it (stderr, files, syslog), and survives gunicorn reopening them."""
    for name in GUNICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCapabilities) for f in logger.filters):
            logger.addFilter(RedactCapabilities())

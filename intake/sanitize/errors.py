"""Why a file was refused. Codes are stable: the web side maps them to translated text."""

from __future__ import annotations

# Reason codes. Keep in step with intake/messages.py, which translates them.
UNSUPPORTED_FORMAT = "unsupported_format"
MALFORMED = "malformed"
TOO_LARGE = "too_large"
UNSAFE_CONTENT = "unsafe_content"
VERIFY_FAILED = "verify_failed"


class Rejected(Exception):
    """The input cannot be proven clean; no output may be published."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def malformed(detail: str) -> Rejected:
    return Rejected(MALFORMED, detail)

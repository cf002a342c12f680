"""Stated dates, shared by the audio and video strippers: normalise free text to ISO 8601.

Tags state a recording date as text (Vorbis DATE, ID3 TDRC, RIFF ICRD, Matroska DATE_RECORDED).
The manifest keeps it as evidence, so only text that is plainly a date may pass.
"""

from __future__ import annotations

import re

_DATE = re.compile(
    r"(\d{4})(?:[-:](\d{2})(?:[-:](\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?"
)


def iso_date(text: str) -> str | None:
    """Normalise a stated date to ISO 8601, or None when it is not plainly a date.

    Only digits and separators pass, so a tag that holds anything else (a place, a name)
    can never reach the manifest through this field.
    """
    match = _DATE.fullmatch(text.strip().rstrip("\x00").strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    out = year
    if month:
        out += f"-{month}"
    if day:
        out += f"-{day}"
    if hour:
        out += f"T{hour}:{minute}"
        if second:
            out += f":{second}"
        if zone:
            out += zone
    return out

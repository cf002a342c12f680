"""The API reference at /api/docs/, written for a partner's developer: Redoc from
drf-spectacular-sidecar, served from our static files (no fonts, scripts or styles from
any other origin), and the schema's introduction (authentication, webhooks and how to
verify their signatures) with partner operations first."""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularRedocView

# Redoc injects its styles at run time and parses the schema in a blob: worker; both stay
# within our origin. Nothing else is loosened compared to settings.SECURE_CSP.
REDOC_CSP: dict[str, Any] = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'none'"],
}


@method_decorator(csp_override(REDOC_CSP), name="dispatch")
class PartnerDocsView(SpectacularRedocView):
    template_name = "reports/api/redoc.html"
    url_name = "api-schema"


# --- The reference as a partner developer reads it ------------------------------------------

PARTNER_TAG = "Partner API"
INTAKE_TAG = "Witness intake"

GUIDE = """\
Testigo gives partner legal-aid organisations the reports shared with them: the
moderated (redacted) account, the facts your sharing profile includes, and sanitized
media. This page is for your developers; the witness-side intake API is at the end.

## Authentication

Every partner request carries your organisation's key in the `Authorization` header
with the `Api-Key` scheme (not `Bearer`):

```
Authorization: Api-Key abcd1234.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
```

A missing key answers 401 `not_authenticated`; another scheme, or an unknown, expired
or revoked key, answers 401 `authentication_failed`. Both say which header to send.

## What you see

Exactly the reports shared with your organisation, and only the fields of your sharing
profile (`id` always). Anything else, including a report whose share was revoked,
answers 404, never 403. Free text is the moderated version: names and addresses a
moderator removed never reach you. Times are ISO 8601; `occurred_at` carries the
witness's own UTC offset (07:40 in Chicago is `07:40:00-05:00`).

## Publishable copies

When your sharing profile includes publishable copies, a report lists in
`publishable_copies` the ids of copies of its photos, videos and audio made for
publication: made only when the witness agreed to publication, from the sanitized file,
with every face hidden (a solid box or a coarse mosaic) and reviewed by legal-aid staff,
voices distorted when they chose to, then sanitized again. Photos are JPEG, videos H.264
and AAC in MP4 (`+faststart`), audio AAC in MP4. `GET /api/v1/reports/{id}/publishable-copies/`
gives each with a signed `download_url` that works for a few minutes and needs no key;
each download is recorded. Without publishable copies in your profile that list answers
404. The media items stay the evidence copies: never publish those.

## Errors

Every error is an RFC 9457 problem document (`application/problem+json`) with a
stable `code`; branch on it, not on `detail`.

## Webhooks

An administrator registers your HTTPS endpoint and gives you its signing secret. Each
event is a `POST` with a JSON body that carries ids only: fetch the report with your key.

| event | when |
|---|---|
| `report.shared` | a report was shared with you |
| `report.updated` | a shared report changed (case status, grouping into an incident) |
| `share.revoked` | a share was revoked: the report is no longer yours to read |
| `media.added` | new sanitized media on a shared report |

```json
{"created_at": "2026-05-01T12:00:00+00:00", "data": {"report_id": "3f2a..."},
 "event": "report.shared", "id": "9b1c..."}
```

Headers: `Testigo-Event`, `Testigo-Delivery` (the event id, the same on every retry:
drop repeats), `Testigo-Timestamp` (Unix seconds) and `Testigo-Signature`
(`sha256=` + hex HMAC-SHA256 of `"{timestamp}.{raw body}"` with your secret). Answer
2xx within 10 seconds; anything else is retried with exponential backoff (30 s up to an
hour between tries, 8 attempts).

### Verifying a signature: Python

```python
import hashlib
import hmac
import time


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    timestamp = headers["Testigo-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old: refuse replays
    message = timestamp.encode() + b"." + body  # the raw body, exactly as received
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["Testigo-Signature"])
```

### Verifying a signature: JavaScript (Node.js)

```javascript
const crypto = require("node:crypto");

function verify(secret, headers, rawBody, toleranceSeconds = 300) {
  const timestamp = headers["testigo-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) {
    return false; // too old: refuse replays
  }
  const expected = "sha256=" + crypto
    .createHmac("sha256", secret)
    .update(Buffer.concat([Buffer.from(timestamp + "."), rawBody])) // the raw body bytes
    .digest("hex");
  const given = Buffer.from(headers["testigo-signature"] || "");
  return given.length === expected.length &&
    crypto.timingSafeEqual(given, Buffer.from(expected));
}
```
"""

TAGS = [
    {
        "name": PARTNER_TAG,
        "description": "Reports shared with your organisation, their media, and your own "
        "case record. Authorization: Api-Key <key>.",
    },
    {
        "name": INTAKE_TAG,
        "description": "Anonymous submission of a witness's report (used by apps that "
        "report on a witness's behalf). No key.",
    },
]


def partner_reference(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): the guide above as the
    reference's introduction, and partner operations before the witness intake."""
    result["info"]["description"] = GUIDE
    result["tags"] = TAGS
    paths = result.get("paths", {})

    def order(path: str) -> tuple[bool, bool]:
        # Reports first; the signed download link after them; the witness intake last.
        signed_link = path.startswith(("/api/v1/media/", "/api/v1/publishable-copies/"))
        return path.startswith("/api/v1/intake/"), signed_link

    result["paths"] = {path: paths[path] for path in sorted(paths, key=order)}
    return result

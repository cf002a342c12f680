"""Which report a follow-up session may see.

After the witness enters a correct receipt code, the session holds only the report's id
and an expiry a few minutes ahead, never the code (the session table would otherwise
hold a usable key to the report). The one exception is a new report's receipt after a
post without the script (``receipt_keep``): held until its page is read, a few minutes at
most, and removed as it is read. Each visit within that time renews nothing: when it
runs out, the code is asked for again. Quick exit and "Close" end it at once; beat clears
the rows of sessions that ran out.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from reports.models import Report

SESSION_KEY = "testigo_followup"
RECEIPT_KEY = "testigo_receipt"
RECEIPT_HOLD_S = 300


def followup_open(request: HttpRequest, report: Report) -> None:
    # A new session key: a session id seen before the code was entered grants nothing.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "report": str(report.id),
        "until": int(time.time()) + settings.TESTIGO_FOLLOWUP_SESSION_S,
    }
    request.session.set_expiry(settings.TESTIGO_FOLLOWUP_SESSION_S)


def followup_report(request: HttpRequest) -> Report | None:
    entry = request.session.get(SESSION_KEY)
    if not isinstance(entry, dict) or int(entry.get("until", 0)) < time.time():
        return None
    return Report.objects.filter(id=str(entry.get("report", ""))).first()


def receipt_keep(request: HttpRequest, *, code: str, refused: list[dict[str, Any]]) -> None:
    """Hold a new report's receipt for the one page that shows it (post/redirect/get
    without the script). The code sits in the session only until that page is read, at
    most a few minutes: the redirect is followed at once."""
    request.session[RECEIPT_KEY] = {
        "code": code,
        "refused": refused,
        "until": int(time.time()) + RECEIPT_HOLD_S,
    }
    if SESSION_KEY not in request.session:
        request.session.set_expiry(RECEIPT_HOLD_S)


def receipt_take(request: HttpRequest) -> dict[str, Any]:
    """The held receipt, once: removed from the session as it is read."""
    held = request.session.pop(RECEIPT_KEY, None)
    if not isinstance(held, dict) or int(held.get("until", 0)) < time.time():
        return {"receipt_code": "", "refused": []}
    return {"receipt_code": str(held["code"]), "refused": list(held.get("refused", []))}


def followup_close(request: HttpRequest) -> None:
    request.session.flush()


def sessions_expired_clear() -> None:
    """Delete every expired session from the session store (``manage.py clearsessions``)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()

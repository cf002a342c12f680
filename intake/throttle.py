"""Per-client rate limits that identify no one (design promises 4 and 12).

The client's address (config.proxies.client_address: the connection's, or the one a
trusted proxy forwarded) is reduced at once to an HMAC under a random secret made for
today (UTC) and kept only in the cache, where it expires a day later: yesterday's
counters cannot be linked to today's, and once a day's secret is gone nothing, not even
SECRET_KEY, links its counters to an address. Only the HMAC, cut short, reaches the
cache; the address is never stored or logged. The cache is one for all processes in every
mode (Redis, or the embedded default's shared files), so a limit is one count.

Every witness-facing write counts under a scope (the table in docs/operations.md); every
check of a receipt code, on any path, goes through ``receipt_code_report`` and its limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from config.cache import add_or_get, counter_add
from config.proxies import client_address
from intake.receipts import receipt_code_hash
from reports import selectors
from reports.models import Report

WINDOW_S = 3600
# After the cache failed, this process stops asking it for so many seconds.
CACHE_RETRY_AFTER_S = 10.0
_cache_down_until = 0.0
logger = logging.getLogger(__name__)


SECRET_TTL_S = 26 * 3600
# Where a request keeps its client token (with its day) once asked for.
_REQUEST_ATTRIBUTE = "_testigo_client_token"


def _daily_secret(day: str) -> bytes:
    key = f"throttle-secret:{day}"
    # The first secret made today, whichever process made it: stored unless one is there,
    # and read back, in one step.
    secret = add_or_get(key, secrets.token_hex(32), timeout=SECRET_TTL_S)
    return bytes.fromhex(str(secret))


def client_token(request: HttpRequest) -> str:
    """An opaque stand-in for the client address, valid for today only.

    X-Forwarded-For counts only from TESTIGO_TRUSTED_PROXIES: from anyone else it would let
    a client pick their own bucket."""
    address = client_address(request)
    day = timezone.now().strftime("%Y-%m-%d")
    return hmac.new(_daily_secret(day), address.encode(), hashlib.sha256).hexdigest()[:32]


def _unless_cache_down[T](read: Callable[[], T], *, fallback: T, what: str) -> T:
    """``read()`` from the cache, or ``fallback`` while it is unreachable (Redis down): a
    witness's report matters more than abuse control for the minutes of an outage. After a
    failure this process stops asking for CACHE_RETRY_AFTER_S, so requests do not each wait
    for the cache's timeout."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return fallback
    try:
        return read()
    except Exception:
        _cache_down_until = time.monotonic() + CACHE_RETRY_AFTER_S
        logger.warning("throttle cache unavailable; %s", what)
        return fallback


def _request_token(request: HttpRequest) -> str:
    """``client_token``, asked of the cache once per request: the throttle and the byte
    budgets of one request count under the same token."""
    day = timezone.now().strftime("%Y-%m-%d")
    # Kept on Django's request, which a DRF view's request wraps: the API view throttles
    # with DRF's and receives the post with Django's.
    django_request = getattr(request, "_request", request)
    known: tuple[str, str] | None = getattr(django_request, _REQUEST_ATTRIBUTE, None)
    if known is not None and known[0] == day:
        return known[1]
    token = client_token(request)
    setattr(django_request, _REQUEST_ATTRIBUTE, (day, token))
    return token


def budget_client(request: HttpRequest) -> str:
    """The client token for byte budgets (intake/budgets.py), or "" (no client budget)
    while the cache is unreachable."""
    return _unless_cache_down(
        lambda: _request_token(request), fallback="", what="byte budgets count no client"
    )


def throttle_hit(request: HttpRequest, *, scope: str, limit: int) -> bool:
    """Count one request in ``scope``; True when the client is over ``limit`` per hour, and
    False (let through) while the cache is unreachable."""
    return _unless_cache_down(
        lambda: _count(request, scope=scope, limit=limit),
        fallback=False,
        what=f"{scope} requests let through",
    )


def _key(request: HttpRequest, scope: str) -> str:
    window = int(time.time()) // WINDOW_S
    return f"throttle:{scope}:{_request_token(request)}:{window}"


def _count(request: HttpRequest, *, scope: str, limit: int) -> bool:
    # One atomic step for every process: the first request of a window makes the counter.
    # Requests over the limit count too, so a flood stays refused for the hour.
    return counter_add(_key(request, scope), amount=1, timeout=WINDOW_S + 60) > limit


class TooManyCodeAttempts(Exception):
    """This client made too many wrong receipt-code attempts this hour."""


def receipt_code_report(request: HttpRequest, *, code: str) -> Report | None:
    """The report a receipt code opens, for the follow-up page and resumable uploads alike.

    Each check is counted first, so concurrent guesses cannot slip past the limit; a right
    code is then taken off the count (it tells its holder nothing new), so a witness sending
    many files with their code is never stopped. Over the limit, no code is looked at, right
    or wrong: the answer must not tell a guesser anything."""
    limit = settings.TESTIGO_THROTTLE_CODES_PER_HOUR
    if throttle_hit(request, scope="code", limit=limit):
        raise TooManyCodeAttempts
    report = selectors.report_by_receipt(receipt_hash=receipt_code_hash(code))
    if report is not None:
        _uncount(request, scope="code")
    return report


def _uncount(request: HttpRequest, *, scope: str) -> None:
    # The counter expired or the cache is down: nothing to undo.
    with contextlib.suppress(Exception):
        cache.decr(_key(request, scope))

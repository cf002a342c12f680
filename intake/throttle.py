"""Per-client rate limits that identify no one (design promise 4).

The client's address is reduced at once to an HMAC under a random secret made for
today (UTC) and kept only in the cache, where it expires a day later: yesterday's
counters cannot be linked to today's, and once a day's secret is gone nothing, not even
SECRET_KEY, links its counters to an address. Only the HMAC, cut short, reaches the
cache; the address is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

WINDOW_S = 3600
# After the cache failed, this process stops asking it for so many seconds.
CACHE_RETRY_AFTER_S = 10.0
_cache_down_until = 0.0
logger = logging.getLogger(__name__)


SECRET_TTL_S = 26 * 3600


def _daily_secret(day: str) -> bytes:
    key = f"throttle-secret:{day}"
    # add() keeps the first secret made today, whichever process made it.
    cache.add(key, secrets.token_hex(32), timeout=SECRET_TTL_S)
    secret = cache.get(key)
    if secret is None:  # the cache lost it between the two calls: use a fresh one
        secret = secrets.token_hex(32)
    return bytes.fromhex(str(secret))


def client_token(request: HttpRequest) -> str:
    """An opaque stand-in for the client address, valid for today only.

    Only REMOTE_ADDR is used: X-Forwarded-For is set by the client and would let anyone
    pick their own bucket. Behind a reverse proxy, the proxy must set REMOTE_ADDR."""
    address = str(request.META.get("REMOTE_ADDR", ""))
    day = timezone.now().strftime("%Y-%m-%d")
    return hmac.new(_daily_secret(day), address.encode(), hashlib.sha256).hexdigest()[:32]


def throttle_hit(request: HttpRequest, *, scope: str, limit: int) -> bool:
    """Count one request in ``scope``; True when the client is over ``limit`` per hour.

    With the cache unreachable (Redis down) the request is let through: a witness's
    report matters more than abuse control for the minutes of an outage."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return False
    try:
        return _count(request, scope=scope, limit=limit)
    except Exception:
        # Do not make every request of the outage wait for the cache's timeout.
        _cache_down_until = time.monotonic() + CACHE_RETRY_AFTER_S
        logger.warning("throttle cache unavailable; %s requests let through", scope)
        return False


def _count(request: HttpRequest, *, scope: str, limit: int) -> bool:
    window = int(time.time()) // WINDOW_S
    key = f"throttle:{scope}:{client_token(request)}:{window}"
    # add() is atomic: the first request of a window creates the counter.
    if cache.add(key, 1, timeout=WINDOW_S + 60):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=WINDOW_S + 60)
        count = 1
    return count > limit

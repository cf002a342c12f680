"""The cache with REDIS_URL set: Django's Redis cache, with one connection pool and one
client per process, and the two steps the witness side takes on every submit done in one
round trip each.

Django's Redis cache makes a cache object per thread, each with its own connection pool,
and a client object for every call; gunicorn runs dozens of threads per worker. Here the
threads of a process share one pool (redis-py's pools are thread-safe, and a forked
child starts a pool of its own).

The throttle and the byte budgets (intake/throttle.py, intake/budgets.py) took two to
three commands per check (add, then incr, then decr when over the budget), each a hand-off
to Redis; ``counter_add`` and ``add_or_get`` are one command each, and as atomic as the
separate steps were (a Lua script runs alone on the server). Their keys and values are
Django's own (``make_and_validate_key``; integers stored plain, anything else pickled by
the cache's serializer), so ``get``, ``incr``, ``decr`` and ``delete`` read them as usual.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import Redis
from redis.commands.core import Script

# INCRBY the counter; give it its expiry when it has none (it is new); take the amount back
# when the total is over ARGV[3] (if given). Returns the total with the amount.
_COUNTER_ADD = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if ARGV[3] ~= '' and total > tonumber(ARGV[3]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
end
return total
"""

_clients: dict[str, Any] = {}
_scripts: dict[int, Script] = {}
_lock = threading.Lock()


class _ProcessClient(RedisCacheClient):
    """Django's client, with one Redis client (and its pool) per server and process."""

    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]
    _serializer: Any
    _get_connection_pool_index: Any

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        server = self._servers[self._get_connection_pool_index(write)]
        client = _clients.get(server)
        if client is None:
            with _lock:
                client = _clients.get(server)
                if client is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    client = _clients[server] = Redis(connection_pool=pool)
        return client


class ProcessRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ProcessClient

    def counter_add(
        self, key: str, *, amount: int, timeout: int, undo_over: int | None = None
    ) -> int:
        """Add ``amount`` to the counter ``key`` (kept ``timeout`` seconds from when it is
        made) and return the new total; when ``undo_over`` is given and the total is over
        it, the amount is taken back in the same step (nothing is counted)."""
        client = self._cache.get_client(write=True)
        script = _scripts.get(id(client))
        if script is None:
            # Sent by its SHA-1 (EVALSHA); loaded again if the server has forgotten it.
            script = _scripts.setdefault(id(client), client.register_script(_COUNTER_ADD))
        limit = "" if undo_over is None else str(undo_over)
        full_key = self.make_and_validate_key(key)
        return int(script(keys=[full_key], args=[amount, timeout, limit], client=client))

    def add_or_get(self, key: str, value: Any, *, timeout: int) -> Any:
        """``add(key, value)`` and then ``get(key)`` in one command: the value stored
        under ``key``, the one already there or else ``value``."""
        client = self._cache.get_client(write=True)
        serializer = self._cache._serializer  # type: ignore[attr-defined]
        full_key = self.make_and_validate_key(key)
        # SET NX GET: sets only when absent, and answers with what was there (Redis 7).
        before = client.set(full_key, serializer.dumps(value), ex=timeout, nx=True, get=True)
        return value if before is None else serializer.loads(before)

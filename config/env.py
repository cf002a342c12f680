"""Small typed readers for settings that come from the environment.

A value that cannot be read is a start-up error naming the variable (as healthchecks'
``envbool`` does): a typo such as ``DJANGO_DEBUG=flase`` must not quietly mean something.

Every variable may instead be given as a file, ``NAME_FILE=/run/secrets/name`` (compose and
Kubernetes secrets), so no secret has to sit in the environment; setting both is an error.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    """The variable's value, from ``NAME`` or else from the file ``NAME_FILE`` names (its
    trailing newline dropped); None when neither is set."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if path is None:
        return value
    if value is not None:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    try:
        return Path(path).read_text().rstrip("\r\n")
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    raw = _raw(name) or ""
    value = raw.strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off"
    )


def env_int(name: str, default: int) -> int:
    value = (_raw(name) or "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if not value:
        return list(default or [])
    # Commas or lines: a secrets file may hold one fallback key per line.
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP networks (``10.0.0.0/8``) or addresses (``127.0.0.1``)."""
    networks = []
    for entry in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {entry!r} is not an IP network") from None
    return networks


def env_secret(name: str, fallback_file: Path | None, nbytes: int = 32) -> str:
    """A secret from the environment (or ``NAME_FILE``). With a ``fallback_file`` (the
    embedded default only) one is generated once into it (mode 0600) so a local run needs
    no configuration; without one the variable must be set: a key generated per host would
    leave the other hosts unable to read what this one sealed."""
    value = (_raw(name) or "").strip()
    if value:
        return value
    if fallback_file is None:
        raise ImproperlyConfigured(
            f"{name} must be set (or {name}_FILE): outside the embedded default no key is "
            "generated, every host must be given the same one"
        )
    try:
        return fallback_file.read_text().strip()
    except FileNotFoundError:
        pass
    fallback_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(fallback_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this run created it first
        return fallback_file.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value)
    return value


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def embedded_default(*, storage: str, debug: bool, allowed_hosts: list[str]) -> bool:
    """True for the one-machine run that may generate its own keys into ``var/secrets/``:
    local storage, and either DEBUG or only loopback host names. Object storage, or a
    public host name with DEBUG off, is a deployment: its keys must be given."""
    if storage == "s3":
        return False
    return debug or all(host.lower() in _LOOPBACK_HOSTS for host in allowed_hosts)


def env_url(name: str, default: str, secret_var: str) -> str:
    """A service URL whose password may come apart from it, from the variable ``secret_var``
    (or its ``_FILE``): compose keeps the password in a secret and the URL in plain
    configuration. A URL that already holds a password keeps it."""
    url = env_str(name, default)
    secret = env_str(secret_var)
    if not url or not secret:
        return url
    parts = urlsplit(url)
    if parts.password is not None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{quote(secret, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))

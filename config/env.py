"""Small typed readers for settings that come from the environment.

A value that cannot be read is a start-up error naming the variable (as healthchecks'
``envbool`` does): a typo such as ``DJANGO_DEBUG=flase`` must not quietly mean something.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a boolean: use 1/0, true/false, yes/no or on/off"
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


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
    """A secret from the environment. With a ``fallback_file`` (local storage, as in the
    embedded default) one is generated once into it (mode 0600) so a local run needs no
    configuration; without one the variable must be set."""
    value = os.environ.get(name)
    if value:
        return value
    if fallback_file is None:
        raise ImproperlyConfigured(f"{name} must be set")
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

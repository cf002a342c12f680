"""The framework floor: the application's own settings, but URLs that only stream the
request body to disk. Used by bench/load/run.py; never part of the application."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load.floor_urls"

"""The framework floor: the application's own settings, but URLs whose only view parses
the multipart body with Django's parser and writes each file to disk
(bench/load/floor_urls.py). Used by bench/load/run.py; never part of the application."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load.floor_urls"

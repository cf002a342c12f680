"""Settings of publishable copies (issue 17), read as settings.py reads its own; kept here
so settings.py stays one screenful per part. Imported by config/settings.py."""

from __future__ import annotations

from config.env import env_int

# The face engine's child process (intake/publication.py): address space and CPU time.
# Detection runs on every frame: a 30 s 1080p clip takes a few CPU minutes.
TESTIGO_FACES_MAX_MEMORY_MB = env_int("TESTIGO_FACES_MAX_MEMORY_MB", 4096)
TESTIGO_FACES_MAX_CPU_S = env_int("TESTIGO_FACES_MAX_CPU_S", 3600)
# Worker tasks of publishable copies run on their own queue, so a long video never holds
# up sanitizing a witness's upload (promise 12).
FACES_ROUTES = {
    "intake.tasks.faces_detect": {"queue": "faces"},
    "intake.tasks.faces_render": {"queue": "faces"},
}

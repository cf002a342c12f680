"""The STORAGES table: local folders under VAR_DIR (the embedded default) or three
S3-compatible buckets (production: SeaweedFS in compose).

The quarantine holds encrypted uploads and is never served over HTTP (no base_url);
the media storage holds sanitized files, served only through permission-checking views
(promise 1); legal_hold holds originals sealed to an offline key. With S3 the backend is
reports.storage.StreamingS3Storage: reads stream in ranges and store outages surface as
StorageUnavailable (an OSError), so nothing reads a whole object into memory and an
outage costs a witness no text (promise 7)."""

from __future__ import annotations

from pathlib import Path

from config.env import env_int, env_str

# The buckets, by storage alias, with the variable that names each. Compose's bucket job
# (deploy/seaweedfs-init.sh) creates them; elsewhere `manage.py create_buckets` does, run
# with the store's admin credentials (the app's own may read and write these buckets only).
S3_BUCKET_VARIABLES = {
    "quarantine": "TESTIGO_QUARANTINE_BUCKET",
    "media": "TESTIGO_MEDIA_BUCKET",
    "legal_hold": "TESTIGO_LEGAL_HOLD_BUCKET",
}
S3_BACKEND = "reports.storage.StreamingS3Storage"


def storages_config(backend: str, var_dir: Path) -> dict[str, dict[str, object]]:
    """Django's STORAGES for ``backend`` ("local" or "s3")."""
    if backend == "s3":
        common: dict[str, object] = {
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL"),
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": True,
            # A file written through storage.open(name, "wb") spools to disk past 1 MiB
            # instead of growing in memory (reads never use it: StreamingS3Storage).
            "max_memory_size": env_int("TESTIGO_S3_MAX_MEMORY_BYTES", 1 << 20),
        }
        by_alias: dict[str, dict[str, object]] = {
            alias: {
                "BACKEND": S3_BACKEND,
                "OPTIONS": {**common, "bucket_name": env_str(variable)},
            }
            for alias, variable in S3_BUCKET_VARIABLES.items()
        }
    else:
        by_alias = {
            "quarantine": _local(var_dir / "quarantine"),
            "media": _local(var_dir / "media", allow_overwrite=True),
            "legal_hold": _local(var_dir / "legal_hold"),
        }
    return {
        "default": by_alias["media"],
        **by_alias,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }


def _local(location: Path, **options: object) -> dict[str, object]:
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": None, **options},
    }

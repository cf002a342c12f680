"""Create the storage the app writes to, so a fresh deployment's first upload never fails.

With S3 (TESTIGO_STORAGE=s3): the quarantine, media and legal-hold buckets, each unless
it exists. The compose bucket job runs it once with the store's admin credentials in
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; the app itself runs with credentials that may
read and write these buckets and nothing else, so it cannot create them. Locally: the
folders under VAR_DIR. Idempotent: safe to run on every deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError

from config.storage import S3_BUCKET_VARIABLES
from reports.storage import StorageUnavailable, StreamingS3Storage


class Command(BaseCommand):
    help = "Create the quarantine, media and legal-hold buckets (or folders) unless they exist."

    def handle(self, *args: Any, **options: Any) -> None:
        for alias in S3_BUCKET_VARIABLES:
            storage = storages[alias]
            if isinstance(storage, StreamingS3Storage):
                try:
                    created = storage.bucket_ensure()
                except StorageUnavailable as exc:
                    raise CommandError(f"{alias}: bucket {storage.bucket_name}: {exc}") from exc
                state = "created" if created else "exists"
                self.stdout.write(f"{alias}: bucket {storage.bucket_name} {state}")
            elif isinstance(storage, FileSystemStorage):
                folder = Path(storage.location)
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.stdout.write(f"{alias}: folder {folder} ready")

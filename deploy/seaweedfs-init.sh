#!/bin/sh
# One-shot job of docker-compose.yml (service storage-init), also run by
# tests/unit/test_storage_init.py against a real `weed server`: creates Testigo's buckets and
# the app's S3 identity, which may read, write and list those buckets and nothing else (no
# Admin: it cannot create, delete or open other buckets, nor change identities). The access
# and secret keys are read from files (compose secrets), never from the environment.
# Safe to run again: existing buckets are kept, the identity is rewritten.
set -eu

WEED=${WEED:-weed}
WEED_MASTER=${WEED_MASTER:-seaweedfs:9333}
WEED_FILER=${WEED_FILER:-seaweedfs:8888}
TESTIGO_BUCKETS=${TESTIGO_BUCKETS:-testigo-quarantine testigo-media testigo-legal-hold}
S3_USER=${S3_USER:-testigo}
access_key=$(cat "${S3_ACCESS_KEY_FILE:-/run/secrets/s3_access_key}")
secret_key=$(cat "${S3_SECRET_KEY_FILE:-/run/secrets/s3_secret_key}")

shell() {
  # weed shell reads commands from standard input and exits at its end; an unreachable
  # master must fail the job, not hang it.
  printf '%s\n' "$1" | timeout 120 "$WEED" shell -master="$WEED_MASTER" -filer="$WEED_FILER" 2>&1
}

existing=$(shell "s3.bucket.list")
actions=""
for bucket in $TESTIGO_BUCKETS; do
  if printf '%s\n' "$existing" | grep -q "^ *$bucket[[:space:]]"; then
    echo "bucket $bucket exists"
  else
    shell "s3.bucket.create -name $bucket"
    echo "bucket $bucket created"
  fi
  actions="$actions,Read:$bucket,Write:$bucket,List:$bucket"
done

shell "s3.configure -user $S3_USER -access_key $access_key -secret_key $secret_key -actions ${actions#,} -apply" >/dev/null
echo "identity $S3_USER may read, write and list: $TESTIGO_BUCKETS"

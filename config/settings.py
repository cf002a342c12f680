"""Testigo settings: one module, driven by environment variables.

With no variables set this is the embedded default (SQLite, files under ``var/``, a
filesystem Celery broker). Production sets DATABASE_URL, REDIS_URL, the S3 variables and
the secrets; ``manage.py check --deploy`` is clean then.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django.conf.locale
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.beat import beat_schedule
from config.database import CONN_MAX_AGE_S, WEB_THREADS, database_pool
from config.env import (
    embedded_default,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_secret,
    env_str,
    env_url,
)
from config.mail import mailers_config
from config.settings_faces import FACES_ROUTES
from config.settings_faces import TESTIGO_FACES_MAX_CPU_S as TESTIGO_FACES_MAX_CPU_S
from config.settings_faces import TESTIGO_FACES_MAX_MEMORY_MB as TESTIGO_FACES_MAX_MEMORY_MB
from config.settings_fixed import AUTH_PASSWORD_VALIDATORS as AUTH_PASSWORD_VALIDATORS
from config.settings_fixed import REST_FRAMEWORK as REST_FRAMEWORK
from config.settings_fixed import SECURE_CSP as SECURE_CSP
from config.settings_fixed import SPECTACULAR_SETTINGS as SPECTACULAR_SETTINGS
from config.settings_fixed import logging_config
from config.storage import storages_config

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Importing this module creates nothing: the folders under VAR_DIR are made by the
# processes that use them (config/var_dirs.py), except var/secrets/ below.
VAR_DIR = Path(env_str("TESTIGO_VAR_DIR", str(BASE_DIR / "var"))).resolve()
STORAGE_BACKEND = env_str("TESTIGO_STORAGE", "local")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# In the embedded default each secret not given is generated once into var/secrets/, beside
# the files it protects. Any other deployment (S3, or a public host name with DEBUG off)
# must give every secret (or NAME_FILE): one generated per host would leave the others
# unable to decrypt, and is a start-up error instead.
_SECRETS_DIR = (
    VAR_DIR / "secrets"
    if embedded_default(storage=STORAGE_BACKEND, debug=DEBUG, allowed_hosts=ALLOWED_HOSTS)
    else None
)


def _secret_file(name: str) -> Path | None:
    return _SECRETS_DIR / name if _SECRETS_DIR else None


SECRET_KEY = env_secret("DJANGO_SECRET_KEY", _secret_file("django_secret_key"), 50)
# Old keys still accepted for signatures (sessions, signed links) after a rotation.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin with two factors required for every staff login (reports/admin_site.py).
    "reports.apps.TestigoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "reports",
    "intake",
]

MIDDLEWARE = [
    "config.request_log.RequestIdMiddleware",
    # /healthz, /readyz and /metrics, answered before host checks and HTTPS redirects.
    "reports.health.HealthMiddleware",
    # Proxy headers from anyone but TESTIGO_TRUSTED_PROXIES are dropped before all else.
    "config.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "intake.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes only ever sees staff login requests under /admin/ (promise 4: never a witness).
    "reports.middleware.StaffAxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
_sqlite_path = VAR_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_url("DATABASE_URL", f"sqlite:///{_sqlite_path}", "DATABASE_PASSWORD"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", CONN_MAX_AGE_S),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a worker process can see what the tests commit.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
else:
    # PostgreSQL: each process keeps a pool of connections (config/database.py), so a
    # request does not start a new server backend; DATABASE_POOL_MAX_SIZE=0 turns it off.
    _web_threads = env_int("TESTIGO_WEB_THREADS", WEB_THREADS)
    _pool = database_pool(
        max_size=env_int("DATABASE_POOL_MAX_SIZE", _web_threads),
        web_threads=_web_threads,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
    if _pool is not None:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "pool": _pool}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ---------------------------------------------------------------------
# The cache's Redis; the broker's is TESTIGO_BROKER_URL (by default the same). Give them
# separate instances: an evicting cache must never evict queued tasks (docker-compose.yml).
REDIS_URL = env_url("REDIS_URL", "", "REDIS_PASSWORD")
_BROKER_URL = env_url("TESTIGO_BROKER_URL", REDIS_URL, "REDIS_PASSWORD")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one connection pool per process and one round trip per
            # throttle or byte-budget check (config/redis_cache.py).
            "BACKEND": "config.redis_cache.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            # A local Redis answers in well under a millisecond; a frozen one must not
            # hold a witness's submit for long (throttling then lets requests through).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # One cache for every process of the host (throttle counters must be one count), kept
    # in files because the embedded default runs no cache server (config/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedFileCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

BROKER_DIR = VAR_DIR / "broker"
# A submit must answer even when Redis is down or frozen: every broker round trip made while
# publishing gives up after this long, and after a failure the process stops trying for
# TESTIGO_PUBLISH_PAUSE_S (the sweeper re-queues what was not published).
TESTIGO_PUBLISH_TIMEOUT_S = env_int("TESTIGO_PUBLISH_TIMEOUT_S", 2)
TESTIGO_PUBLISH_PAUSE_S = env_int("TESTIGO_PUBLISH_PAUSE_S", 10)
CELERY_BROKER_URL = _BROKER_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        # Redetermined from the hard time limit: a task must never be redelivered while a
        # worker may still be running it.
        "visibility_timeout": 4 * env_int("TESTIGO_TASK_TIME_LIMIT", 600),
        "socket_connect_timeout": TESTIGO_PUBLISH_TIMEOUT_S,
        "socket_timeout": TESTIGO_PUBLISH_TIMEOUT_S,
        # One connection attempt when publishing, no sleeping retry loop.
        "max_retries": 0,
        "interval_start": 0,
    }
    if _BROKER_URL
    else {
        # kombu expects these folders to exist; config.var_dirs.var_dirs_ensure makes them.
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection only every this many tasks, not
# after each one: connecting anew cost about 5.5 ms a task (config/database.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = env_int("TESTIGO_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A submit must not hang when the broker is down: publish once, quickly, and let the
# sweeper pick the item up later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = TESTIGO_PUBLISH_TIMEOUT_S
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Work of one kind never waits behind another (promise 12): photos behind a long video,
# webhooks and sweeps behind media. Items go to media_large above TESTIGO_MEDIA_LARGE_BYTES
# (intake.pipeline.media_item_enqueue). A worker without -Q consumes every queue below.
TESTIGO_QUEUES = ("media_small", "media_large", "webhooks", "maintenance", "faces")
TESTIGO_MEDIA_LARGE_BYTES = env_int("TESTIGO_MEDIA_LARGE_BYTES", 32 * 1024 * 1024)
# One queue and exchange per name in TESTIGO_QUEUES: config/celery.py builds them (kombu's
# classes), so that Django's start-up does not import kombu.
# Sweeps, the purge and alerts: everything not routed below.
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {
    "intake.tasks.process_media": {"queue": "media_small"},
    "reports.tasks.deliver_webhook": {"queue": "webhooks"},
    **FACES_ROUTES,  # publishable copies (config/settings_faces.py)
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Media pipeline -----------------------------------------------------------------------
# Quarantine, media and legal hold: folders under VAR_DIR or S3 buckets (config/storage.py).
STORAGES = storages_config(STORAGE_BACKEND, VAR_DIR)
# Secret from which the key that encrypts quarantine files is derived; never in the database.
TESTIGO_QUARANTINE_KEY = env_secret("TESTIGO_QUARANTINE_KEY", _secret_file("quarantine_key"), 32)
# Secret from which the key sealing witnesses' contact details is derived (promise 5).
TESTIGO_CONTACT_KEY = env_secret("TESTIGO_CONTACT_KEY", _secret_file("contact_key"), 32)
# Old keys, still read (each sealed value names its key) until `manage.py rotate_keys` has
# re-sealed everything under the current one (docs/operations.md, "Key rotation").
TESTIGO_QUARANTINE_KEY_FALLBACKS = env_list("TESTIGO_QUARANTINE_KEY_FALLBACKS")
TESTIGO_CONTACT_KEY_FALLBACKS = env_list("TESTIGO_CONTACT_KEY_FALLBACKS")
# Items untouched this long in quarantine (or processing) are re-queued by the sweeper.
TESTIGO_SWEEP_INTERVAL_S = env_int("TESTIGO_SWEEP_INTERVAL_S", 60)
TESTIGO_SWEEP_AFTER_S = env_int("TESTIGO_SWEEP_AFTER_S", 120)
TESTIGO_MAX_ATTEMPTS = env_int("TESTIGO_MAX_ATTEMPTS", 3)
# While the object store is down, processing waits (no attempt used) and tries this often.
TESTIGO_STORAGE_RETRY_S = env_int("TESTIGO_STORAGE_RETRY_S", 30)
# Items of one report queued at a time; the next is queued as one settles, so one report's
# many files cannot hold up another report's (intake.pipeline.media_item_enqueue).
TESTIGO_MEDIA_IN_FLIGHT_PER_REPORT = env_int("TESTIGO_MEDIA_IN_FLIGHT_PER_REPORT", 2)
# A claim older than this is abandoned whatever its worker: past the hard time limit the
# worker's child has been killed. A claim whose worker process is provably gone (same host,
# process no longer running) is taken over at once, without waiting for this.
TESTIGO_CLAIM_STALE_S = env_int("TESTIGO_CLAIM_STALE_S", CELERY_TASK_TIME_LIMIT + 60)
# Legal hold: base64 X25519 public key; when set, every original is sealed to it before
# the quarantine copy is destroyed. The private key never touches the server.
TESTIGO_LEGAL_HOLD_PUBLIC_KEY = env_str("TESTIGO_LEGAL_HOLD_PUBLIC_KEY")
# Limits of the child process that decodes sanitized files (previews, image hashes): the
# only place pixels are decoded. An image with more pixels to decode than the cap gets no
# preview and no hash, and is still clean; 64 MP leaves room for 50 MP phone photos, and
# a JPEG decodes at a fraction of its size, so only other formats meet the cap.
TESTIGO_PREVIEW_MAX_MEMORY_MB = env_int("TESTIGO_PREVIEW_MAX_MEMORY_MB", 1024)
TESTIGO_PREVIEW_MAX_CPU_S = env_int("TESTIGO_PREVIEW_MAX_CPU_S", 30)
TESTIGO_PREVIEW_MAX_PIXELS = env_int("TESTIGO_PREVIEW_MAX_PIXELS", 64_000_000)
# Files one preview child serves before it is replaced (intake/preview_child.py).
TESTIGO_PREVIEW_CHILD_FILES = env_int("TESTIGO_PREVIEW_CHILD_FILES", 200)
# Run ExifTool as a third, independent check of sanitized output when it is installed.
TESTIGO_EXIFTOOL = env_str("TESTIGO_EXIFTOOL", "exiftool")
# Files per submission (the form, the API, one follow-up); more are refused one by one.
TESTIGO_MAX_FILES = env_int("TESTIGO_MAX_FILES", 10)
# Files per report over its whole life, follow-ups and resumable uploads included.
TESTIGO_MAX_FILES_PER_REPORT = env_int("TESTIGO_MAX_FILES_PER_REPORT", 50)
# Per video or audio file; also the ceiling for any upload whose type is not yet known.
TESTIGO_MAX_UPLOAD_BYTES = env_int("TESTIGO_MAX_UPLOAD_BYTES", 1024 * 1024 * 1024)
TESTIGO_MAX_IMAGE_BYTES = env_int("TESTIGO_MAX_IMAGE_BYTES", 25 * 1024 * 1024)
# Resumable (tus) uploads not finished within this time are discarded, and so are those
# that received no bytes for TESTIGO_UPLOAD_STALL_S (a client that reserved and went).
TESTIGO_UPLOAD_EXPIRY_S = env_int("TESTIGO_UPLOAD_EXPIRY_S", 24 * 3600)
TESTIGO_UPLOAD_STALL_S = env_int("TESTIGO_UPLOAD_STALL_S", 30 * 60)
# The sweeper deletes upload parts their row does not list once older than this (a part
# being recorded right now is younger), and worker work folders whose process is gone.
TESTIGO_ORPHAN_GRACE_S = env_int("TESTIGO_ORPHAN_GRACE_S", 600)
# The parent of the worker's private work folders (<host>_<pid>_<random>), per host.
TESTIGO_WORK_DIR = Path(env_str("TESTIGO_WORK_DIR", str(VAR_DIR / "work"))).resolve()
# Byte budgets (intake/budgets.py): over a report's life, per client (the throttle's HMAC)
# per hour, and the free space kept on every local disk uploads or the database use. Below
# the floor new files are refused, in the witness's language, and report text still lands.
TESTIGO_REPORT_MAX_BYTES = env_int("TESTIGO_REPORT_MAX_BYTES", 2 * 1024**3)
TESTIGO_CLIENT_MAX_BYTES_PER_HOUR = env_int("TESTIGO_CLIENT_MAX_BYTES_PER_HOUR", 4 * 1024**3)
TESTIGO_DISK_FLOOR_BYTES = env_int("TESTIGO_DISK_FLOOR_BYTES", 1024**3)
# Per-client throttles (requests per hour), keyed on an HMAC of the address. Every check of
# a receipt code, on any path, is refused once a client made TESTIGO_THROTTLE_CODES_PER_HOUR
# wrong ones (intake/throttle.py).
TESTIGO_THROTTLE_REPORTS_PER_HOUR = env_int("TESTIGO_THROTTLE_REPORTS_PER_HOUR", 30)
TESTIGO_THROTTLE_CODES_PER_HOUR = env_int("TESTIGO_THROTTLE_CODES_PER_HOUR", 30)
TESTIGO_THROTTLE_UPLOADS_PER_HOUR = env_int("TESTIGO_THROTTLE_UPLOADS_PER_HOUR", 200)
# Follow-up messages (and their files) sent from an open follow-up session.
TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR = env_int("TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR", 30)
# Resumable-upload PATCH requests: a 1 GiB video in 1 MiB chunks takes 1,024.
TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR = env_int("TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR", 3600)
# Where "Quick exit" sends the witness: a neutral page on another site.
TESTIGO_QUICK_EXIT_URL = env_str("TESTIGO_QUICK_EXIT_URL", "https://www.weather.gov/")
# How long a follow-up session stays open after the receipt code was entered.
TESTIGO_FOLLOWUP_SESSION_S = env_int("TESTIGO_FOLLOWUP_SESSION_S", 15 * 60)

# The periodic tasks one beat runs (config/beat.py).
CELERY_BEAT_SCHEDULE = beat_schedule(sweep_interval_s=TESTIGO_SWEEP_INTERVAL_S)

FILE_UPLOAD_HANDLERS = ["intake.quarantine.EncryptingUploadHandler"]
# Stored files are for this service's user only (Django's default would be 0644).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# A hard stop well above TESTIGO_MAX_FILES: within it, extra files are refused one by one
# with a translated message instead of Django's untranslated 400.
DATA_UPLOAD_MAX_NUMBER_FILES = TESTIGO_MAX_FILES * 5
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Mail: urgent-report alerts and failed-media alerts (config/mail.py) ---------------
MAILERS = mailers_config(var_dir=VAR_DIR)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("ht", "Kreyòl ayisyen"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django ships no Haitian Creole; tell it the language's names and direction.
django.conf.locale.LANG_INFO["ht"] = {
    "bidi": False,
    "code": "ht",
    "name": "Haitian Creole",
    "name_local": "Kreyòl ayisyen",
}
USE_I18N = True
TIME_ZONE = env_str("TZ_NAME", "UTC")
USE_TZ = True

# --- Static ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Staff authentication -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed staff logins slow down the client address they come from, never an account:
# someone who knows a username cannot lock its owner out. After the limit that address
# waits the cool-off (each further try restarts it). Every failure counts, a right
# password with a wrong code too (reports/admin_site.py), and all read the same. Behind
# a proxy the address must be the real client's (the trusted-proxy setting), or every
# client shares the proxy's. Axes stores a keyed hash of the typed username, never the
# text (people type passwords there); the OTP device throttles wrong codes too.
AXES_ENABLED = env_bool("TESTIGO_AXES_ENABLED", True)
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env_int("TESTIGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("TESTIGO_LOGIN_COOLOFF_MINUTES", 1) / 60
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_USERNAME_CALLABLE = "reports.signals.axes_username"
AXES_COOLOFF_MESSAGE = "Too many failed logins from this address. Please wait, then try again."
# The real client behind a trusted proxy, never an X-Forwarded-For from anyone else.
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# No TOTP secret is ever shown in the admin: devices come from the owner's enrolment page.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Axes' middleware runs wrapped in reports.middleware.StaffAxesMiddleware (admin only).
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
OTP_TOTP_ISSUER = env_str("TESTIGO_OTP_ISSUER", "Testigo")
LOGIN_URL = "admin:login"
# Base of links in staff alerts (e.g. https://testigo.example.org); no witness detail
# is ever put in an alert, only a link into the admin.
TESTIGO_ADMIN_BASE_URL = env_str("TESTIGO_ADMIN_BASE_URL", "http://127.0.0.1:8000")
TESTIGO_EDIT_LOCK_MINUTES = env_int("TESTIGO_EDIT_LOCK_MINUTES", 15)

# --- Alerts ------------------------------------------------------------------------------
# Members of this group (with an email address) are told at once of urgent reports.
TESTIGO_ON_CALL_GROUP = env_str("TESTIGO_ON_CALL_GROUP", "on_call")
TESTIGO_ALERT_WEBHOOK_URL = env_str("TESTIGO_ALERT_WEBHOOK_URL")
# Signs alert webhooks (HMAC-SHA256, the partner webhook scheme); set it with the URL.
TESTIGO_ALERT_WEBHOOK_SECRET = env_str("TESTIGO_ALERT_WEBHOOK_SECRET")
# At most this many alerts an hour: a flood of fake "happening now" reports must not
# bury on-call staff (the urgent view in the admin still lists every one).
TESTIGO_ALERTS_PER_HOUR = env_int("TESTIGO_ALERTS_PER_HOUR", 20)
# Past that cap nothing is dropped silently: every TESTIGO_ALERT_DIGEST_INTERVAL_S (beat,
# above) one digest tells on-call how many more urgent reports arrived.
# A mail that cannot be sent is retried after 30 s, doubling up to 15 min, this many times.
TESTIGO_ALERT_BACKOFF_S = env_int("TESTIGO_ALERT_BACKOFF_S", 30)
TESTIGO_ALERT_RETRIES = env_int("TESTIGO_ALERT_RETRIES", 8)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "testigo@localhost")

# --- Retention -----------------------------------------------------------------------------
# Rejected reports go after this many days from the decision; closed cases after this many
# days from closing. A report under legal hold is never purged.
TESTIGO_RETENTION_REJECTED_DAYS = env_int("TESTIGO_RETENTION_REJECTED_DAYS", 30)
TESTIGO_RETENTION_CLOSED_DAYS = env_int("TESTIGO_RETENTION_CLOSED_DAYS", 365)

# --- Security ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin: the browser still sends Origin on our own form posts (CSRF), never
# a referrer to anyone else.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# HTTPS is enforced whenever DEBUG is off (secure cookies, HSTS, redirect to https). It is
# turned off only explicitly, with TESTIGO_HTTPS=0, for plain HTTP on this machine:
# `manage.py serve` bound to a loopback address (the embedded default) and the test suite.
_https = env_bool("TESTIGO_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("TESTIGO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("TESTIGO_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
# Reverse proxies (addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto are
# believed; from any other peer config.proxies.TrustedProxyMiddleware removes them, so the
# header below marks a request secure only when a trusted proxy set it.
TESTIGO_TRUSTED_PROXIES = env_networks("TESTIGO_TRUSTED_PROXIES")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A witness's phone may be seized: no cookie of ours outlives the browser session (the
# follow-up session's own cookie ends with it, intake/followup.py).
CSRF_COOKIE_AGE = None


# --- Partner API and webhooks ---------------------------------------------------------------
# Requests per API key (the key's id, never a client address).
TESTIGO_PARTNER_RATE = env_str("TESTIGO_PARTNER_RATE", "600/min")
# Lifetime of a signed media download URL.
TESTIGO_MEDIA_URL_MAX_AGE_S = env_int("TESTIGO_MEDIA_URL_MAX_AGE_S", 300)
# Webhook targets must be public HTTPS addresses; tests (and only tests) allow local ones.
TESTIGO_WEBHOOK_ALLOW_PRIVATE = env_bool("TESTIGO_WEBHOOK_ALLOW_PRIVATE", False)
TESTIGO_WEBHOOK_MAX_ATTEMPTS = env_int("TESTIGO_WEBHOOK_MAX_ATTEMPTS", 8)
# First retry after this many seconds, doubling each time (capped at an hour).
TESTIGO_WEBHOOK_BACKOFF_S = env_int("TESTIGO_WEBHOOK_BACKOFF_S", 30)
# Overall deadline of one delivery attempt (connect, send, the whole answer), however slowly
# the endpoint answers: a slow partner must not hold a worker (reports/webhooks.py post).
TESTIGO_WEBHOOK_TIMEOUT_S = env_int("TESTIGO_WEBHOOK_TIMEOUT_S", 10)
if not 1 <= TESTIGO_WEBHOOK_TIMEOUT_S <= 15:
    raise ImproperlyConfigured("TESTIGO_WEBHOOK_TIMEOUT_S must be between 1 and 15 seconds")
# Bearer token that /metrics requires (reports/health.py); unset, /metrics answers 404.
TESTIGO_METRICS_TOKEN = env_str("TESTIGO_METRICS_TOKEN")
# Idempotency records older than this are removed by the retention run.
TESTIGO_IDEMPOTENCY_DAYS = env_int("TESTIGO_IDEMPOTENCY_DAYS", 7)

# --- Logging: no client addresses, no user agents, no capabilities -------------------------
# TESTIGO_LOG_JSON=1: one JSON object a line (time, level, logger, message, request id).
LOGGING = logging_config(level=env_str("LOG_LEVEL", "INFO"), json=env_bool("TESTIGO_LOG_JSON"))

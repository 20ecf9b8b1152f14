"""Django settings, all driven by the environment.

``DATABASE_URL`` picks the database (SQLite file in the data dir by default). Secrets come from
``ALLIANCE_SECRET_KEY`` and ``ALLIANCE_FIELD_KEYS`` (Fernet keys for client fields, kept apart
from SECRET_KEY); when unset, development keys are generated once into 0600 files in the data
dir, never into the repository. Every variable is read through ``alliance.web.env``, so a bad
value stops loading with an error naming it (a typo never silently means the default).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from alliance.core.alerts.types import NttMethod
from alliance.web.env import envbool, envchoice, envint, envlist, envstr
from alliance.web.keys import field_keys, secret_key, web_data_dir
from alliance.web.limits import MAX_FILE_IN_MEMORY, MAX_FORM_BODY

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = web_data_dir()

DEBUG = envbool("ALLIANCE_DEBUG", False)
HTTPS = envbool("ALLIANCE_HTTPS", False)
SECRET_KEY = secret_key(DATA_DIR)
ALLIANCE_FIELD_KEYS = field_keys(DATA_DIR)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = envlist("ALLIANCE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "alliance.web.accounts.adminapp.PlatformAdminConfig",  # Django admin, operators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "alliance.web.accounts",
    "alliance.web.audit",
    "alliance.web.clinic",
    "alliance.web.alerts",
    "alliance.web.feedback",
    "alliance.web.messaging",
    "alliance.web.dashboard",
    "alliance.web.outcomes",
    "alliance.web.transcripts",
    "alliance.web.operations",
    "alliance.web.api",
    "django_tasks",
    "django_tasks_db",
]

# Background jobs (transcript analysis): Django's tasks API with a database-backed queue, so
# SQLite needs no extra service and PostgreSQL can run several workers (`alliance worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "alliance.web.middleware.SecurityHeadersMiddleware",
    "alliance.web.sessions.SlidingSessionMiddleware",  # idle timeout without a write per page
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "alliance.web.middleware.TabletLockMiddleware",
    "alliance.web.accounts.middleware.TwoFactorMiddleware",
]

ROOT_URLCONF = "alliance.web.urls"
WSGI_APPLICATION = "alliance.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'alliance.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take the write lock when a transaction starts, so concurrent submits wait instead of
    # failing with "database is locked" when a read lock cannot be upgraded. Write-ahead logging
    # lets pages read while a submit writes (https://www.sqlite.org/wal.html); every commit still
    # waits for the disk.
    DATABASES["default"]["ENGINE"] = "alliance.web.sqlite_backend"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:caseload"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sessions: idle timeout, slid forward at most once a minute (alliance.web.sessions); cookies
# never readable by scripts.
SESSION_COOKIE_AGE = envint("ALLIANCE_SESSION_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = False  # alliance.web.sessions slides the idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "alliance.web.errors.csrf_failure"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Read even when HTTPS is off, so a typo there is caught before HTTPS is turned on.
SSL_REDIRECT = envbool("ALLIANCE_SSL_REDIRECT", True)
SECURE_SSL_REDIRECT = HTTPS and SSL_REDIRECT
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Behind a TLS proxy the scheme (and client address) come from waitress, which obeys forwarding
# headers only from ALLIANCE_TRUSTED_PROXY and drops them from anyone else (alliance.web.serving);
# Django never reads X-Forwarded-Proto itself, so no peer can claim HTTPS by sending it.
SECURE_PROXY_SSL_HEADER = None
# Load-balancer and container health probes reach the app directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # "no-referrer" makes Chrome send Origin: null, failing CSRF
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request sizes come from alliance.web.limits (waitress and the upload view read the same).
# Oversized form posts are refused with a 400 before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_FORM_BODY
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# Uploaded files stay in memory, never in a temporary file (an unencrypted copy of a transcript
# or recording on disk): only the in-memory handler, up to the transcript limit plus room; a file
# in a bigger request is dropped (the recording upload installs its own bounded handler).
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_FILE_IN_MEMORY
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# Login lockout and feedback-link limits.
ALLIANCE_LOGIN_MAX_FAILURES = envint("ALLIANCE_LOGIN_MAX_FAILURES", 5)
ALLIANCE_LOGIN_LOCK_SECONDS = envint("ALLIANCE_LOGIN_LOCK_SECONDS", 900)
ALLIANCE_LOGIN_MAX_FAILURES_PER_IP = envint("ALLIANCE_LOGIN_MAX_FAILURES_PER_IP", 30)
# The name authenticator apps show beside the user name (two-factor sign-in).
ALLIANCE_TWO_FACTOR_ISSUER = envstr("ALLIANCE_TWO_FACTOR_ISSUER", "alliance")
ALLIANCE_LINK_DAYS = envint("ALLIANCE_LINK_DAYS", 7)
ALLIANCE_LINK_MISSES_PER_WINDOW = envint("ALLIANCE_LINK_MISSES", 20)
ALLIANCE_LINK_WINDOW_SECONDS = 600

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("ALLIANCE_STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Application logs carry no PHI: no request bodies, and feedback tokens are redacted from paths.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "alliance.web.logfilters.RedactFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django.db.backends": {"level": "WARNING", "propagate": True},
        "django.request": {"level": "ERROR", "propagate": True},
    },
}

# Safety-alert emails go through Django's email backend: the console by default, SMTP when set.
EMAIL_BACKEND = envstr("ALLIANCE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("ALLIANCE_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("ALLIANCE_EMAIL_PORT", 25, max=65535)
EMAIL_HOST_USER = envstr("ALLIANCE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envstr("ALLIANCE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = envbool("ALLIANCE_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = envstr("ALLIANCE_FROM_EMAIL", "alliance@localhost")
# A hung mail server must not hold a send past the message lease (messaging.tasks.SEND_LEASE).
EMAIL_TIMEOUT = 30
# Where staff reach the app, for links in emails.
ALLIANCE_BASE_URL = envstr("ALLIANCE_BASE_URL", "http://127.0.0.1:8000")

# Text messages to clients (docs/messaging.md): "outbox" appends them to a file (development);
# "twilio" sends through Twilio's Messages API with the account SID and auth token.
ALLIANCE_SMS_BACKEND = envchoice("ALLIANCE_SMS_BACKEND", "outbox", ("outbox", "twilio"))
ALLIANCE_SMS_OUTBOX = envstr("ALLIANCE_SMS_OUTBOX", str(DATA_DIR / "sms-outbox.jsonl"))
ALLIANCE_SMS_API_URL = envstr("ALLIANCE_SMS_API_URL", "https://api.twilio.com")
ALLIANCE_SMS_ACCOUNT_SID = envstr("ALLIANCE_SMS_ACCOUNT_SID", "")
ALLIANCE_SMS_AUTH_TOKEN = envstr("ALLIANCE_SMS_AUTH_TOKEN", "")
ALLIANCE_SMS_FROM = envstr("ALLIANCE_SMS_FROM", "")
if ALLIANCE_SMS_BACKEND == "twilio" and not all(
    (ALLIANCE_SMS_ACCOUNT_SID, ALLIANCE_SMS_AUTH_TOKEN, ALLIANCE_SMS_FROM)
):
    raise ImproperlyConfigured(
        "ALLIANCE_SMS_BACKEND=twilio needs ALLIANCE_SMS_ACCOUNT_SID, ALLIANCE_SMS_AUTH_TOKEN "
        "and ALLIANCE_SMS_FROM"
    )

# Early-warning settings shared by the whole clinic (see docs/alerts.md): the not-on-track method
# (etr: expected treatment response; nn: nearest neighbours) and when "no reliable change" is flagged.
ALLIANCE_NTT_METHOD = envchoice(
    "ALLIANCE_NTT_METHOD", NttMethod.ETR.value, tuple(m.value for m in NttMethod)
)
ALLIANCE_NO_CHANGE_SESSION = envint("ALLIANCE_NO_CHANGE_SESSION", 6)

# Background jobs (docs/operations.md): a running analysis holds a lease it renews; a worker
# requeues one whose lease expired, up to the attempts limit, then marks it failed.
ALLIANCE_JOB_LEASE_SECONDS = envint("ALLIANCE_JOB_LEASE_SECONDS", 60)
ALLIANCE_JOB_MAX_ATTEMPTS = envint("ALLIANCE_JOB_MAX_ATTEMPTS", 3)
# An upload is read in a child process that is killed after this many seconds.
ALLIANCE_UPLOAD_PARSE_SECONDS = envint("ALLIANCE_UPLOAD_PARSE_SECONDS", 20)

# REST API (docs/api.md): calls per token per minute, the longest a token may last, and refused
# tokens one address may send in 10 minutes before it gets 429.
ALLIANCE_API_RATE_LIMIT = envint("ALLIANCE_API_RATE_LIMIT", 120)
ALLIANCE_API_TOKEN_MAX_DAYS = envint("ALLIANCE_API_TOKEN_MAX_DAYS", 365)
ALLIANCE_API_REFUSED_PER_ADDRESS = envint("ALLIANCE_API_REFUSED_PER_ADDRESS", 20)

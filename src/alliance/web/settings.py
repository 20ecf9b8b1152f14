"""Django settings, all driven by the environment.

``DATABASE_URL`` picks the database (SQLite file in the data dir by default). Secrets come from
``ALLIANCE_SECRET_KEY`` and ``ALLIANCE_FIELD_KEYS`` (Fernet keys for client fields, kept apart
from SECRET_KEY); when unset, development keys are generated once into 0600 files in the data
dir, never into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from alliance.web.keys import field_keys, secret_key, web_data_dir

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = web_data_dir()


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("ALLIANCE_DEBUG")
HTTPS = _flag("ALLIANCE_HTTPS")
SECRET_KEY = secret_key(DATA_DIR)
ALLIANCE_FIELD_KEYS = field_keys(DATA_DIR)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("ALLIANCE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

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
    "alliance.web.dashboard",
    "alliance.web.transcripts",
    "alliance.web.operations",
    "django_tasks",
    "django_tasks_db",
]

# Background jobs (transcript analysis): Django's tasks API with a database-backed queue, so
# SQLite needs no extra service and PostgreSQL can run several workers (`alliance worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Transcript uploads (multipart files) may be larger than ordinary form posts.
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "alliance.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
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
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'alliance.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take the write lock when a transaction starts, so concurrent submits wait instead of
    # failing with "database is locked" when a read lock cannot be upgraded.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
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

# Sessions: idle timeout, refreshed on every request; cookies never readable by scripts.
SESSION_COOKIE_AGE = int(os.environ.get("ALLIANCE_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "alliance.web.errors.csrf_failure"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and _flag("ALLIANCE_SSL_REDIRECT", True)
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

# Oversized posts are refused with a 400 before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# Login lockout and feedback-link limits.
ALLIANCE_LOGIN_MAX_FAILURES = int(os.environ.get("ALLIANCE_LOGIN_MAX_FAILURES", "5"))
ALLIANCE_LOGIN_LOCK_SECONDS = int(os.environ.get("ALLIANCE_LOGIN_LOCK_SECONDS", "900"))
ALLIANCE_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("ALLIANCE_LOGIN_MAX_FAILURES_PER_IP", "30"))
# The name authenticator apps show beside the user name (two-factor sign-in).
ALLIANCE_TWO_FACTOR_ISSUER = os.environ.get("ALLIANCE_TWO_FACTOR_ISSUER", "alliance")
ALLIANCE_LINK_DAYS = int(os.environ.get("ALLIANCE_LINK_DAYS", "7"))
ALLIANCE_LINK_MISSES_PER_WINDOW = int(os.environ.get("ALLIANCE_LINK_MISSES", "20"))
ALLIANCE_LINK_WINDOW_SECONDS = 600

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("ALLIANCE_STATIC_ROOT") or DATA_DIR / "static")
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
EMAIL_BACKEND = os.environ.get(
    "ALLIANCE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("ALLIANCE_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("ALLIANCE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("ALLIANCE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ALLIANCE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _flag("ALLIANCE_EMAIL_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("ALLIANCE_FROM_EMAIL", "alliance@localhost")
# Where staff reach the app, for links in emails.
ALLIANCE_BASE_URL = os.environ.get("ALLIANCE_BASE_URL", "http://127.0.0.1:8000")

# Early-warning settings shared by the whole clinic (see docs/alerts.md): the not-on-track method
# (etr: expected treatment response; nn: nearest neighbours) and when "no reliable change" is flagged.
ALLIANCE_NTT_METHOD = os.environ.get("ALLIANCE_NTT_METHOD", "etr")
if ALLIANCE_NTT_METHOD not in ("etr", "nn"):
    raise ImproperlyConfigured("ALLIANCE_NTT_METHOD must be etr or nn")
ALLIANCE_NO_CHANGE_SESSION = int(os.environ.get("ALLIANCE_NO_CHANGE_SESSION", "6"))


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


# Background jobs (docs/operations.md): a running analysis holds a lease it renews; a worker
# requeues one whose lease expired, up to the attempts limit, then marks it failed.
ALLIANCE_JOB_LEASE_SECONDS = _positive_int("ALLIANCE_JOB_LEASE_SECONDS", 60)
ALLIANCE_JOB_MAX_ATTEMPTS = _positive_int("ALLIANCE_JOB_MAX_ATTEMPTS", 3)
# An upload is read in a child process that is killed after this many seconds.
ALLIANCE_UPLOAD_PARSE_SECONDS = _positive_int("ALLIANCE_UPLOAD_PARSE_SECONDS", 20)

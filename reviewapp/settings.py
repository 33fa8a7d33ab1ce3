"""Reviewapp settings: one file, driven by the environment.

With nothing set you get the embedded development setup: an SQLite file, Celery tasks
run eagerly in-process, a local-memory cache and console email. `DEBUG=0` is
production: it refuses to start without a real SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false), not {value!r}"
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {value!r}"
        ) from error


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from error


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# The development key is public on purpose: production refuses to start with it.
DEVELOPMENT_SECRET_KEY = (
    "django-insecure-reviewapp-development-key-never-use-in-production"
)
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

if not DEBUG:
    if (
        not SECRET_KEY
        or SECRET_KEY == DEVELOPMENT_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure")
    ):
        raise ImproperlyConfigured(
            "DEBUG=0 needs a SECRET_KEY of your own (50 random characters); "
            "the development key is public."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG=0 needs ALLOWED_HOSTS, a comma-separated list of the host names served."
        )

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "sections",
]

ORCID_CLIENT_ID = env_str("ORCID_CLIENT_ID")
ORCID_SECRET = env_str("ORCID_SECRET")
SOCIALACCOUNT_PROVIDERS = {}
if ORCID_CLIENT_ID and ORCID_SECRET:
    # Offered only when configured, so the sign-in page never shows a button that fails.
    INSTALLED_APPS.append("allauth.socialaccount.providers.orcid")
    SOCIALACCOUNT_PROVIDERS["orcid"] = {
        "APPS": [{"client_id": ORCID_CLIENT_ID, "secret": ORCID_SECRET, "key": ""}],
        "BASE_DOMAIN": env_str("ORCID_BASE_DOMAIN", "orcid.org"),
        "MEMBER_API": False,
    }

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files in production without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sections.middleware.content_security_policy",
]

ROOT_URLCONF = "reviewapp.urls"
WSGI_APPLICATION = "reviewapp.wsgi.application"

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
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Write-ahead logging: readers don't wait for the writer, and a commit does not
    # flush the whole file, the usual setting for SQLite behind a web app.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no broker configured, tasks run eagerly in the web process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A killed worker leaves its task unacknowledged, so another worker runs it again;
# that is safe because every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With Redis as broker, a task whose worker died is handed out again after this many
# seconds (kombu's visibility timeout); longer than any task runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # How often a worker looks for such tasks (kombu's defaults: every 10 seconds,
    # scanning on every 10th look).
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_RESTORE_THROTTLE", 10),
}
CELERY_BEAT_SCHEDULE = {
    "retry-failed-references": {
        "task": "sections.tasks.retry_due_references",
        "schedule": env_int("CITATION_RETRY_EVERY", 900),
    },
    # References a killed worker left waiting (sections.references.requeue_stuck).
    "requeue-stuck-references": {
        "task": "sections.tasks.requeue_stuck_references",
        "schedule": env_int("CITATION_SWEEP_EVERY", 60),
    },
    # Saves whose sync of citations, TODO items and claims failed (sections.revisions).
    "sync-unsynced-sections": {
        "task": "sections.tasks.sync_unsynced_sections",
        "schedule": env_int("SYNC_SWEEP_EVERY", 60),
    },
    # Daily: each stale claim's claimant is emailed once (sections.claims).
    "notify-stale-claims": {
        "task": "sections.tasks.notify_stale_claims",
        "schedule": 24 * 3600,
    },
}
# A save's sync waits this many seconds at most for another sync of the section;
# then it is left to the sweep, which takes up syncs this many seconds overdue.
SYNC_LOCK_TIMEOUT = env_int("SYNC_LOCK_TIMEOUT", 5)
SYNC_SWEEP_AFTER = env_int("SYNC_SWEEP_AFTER", 60)
# Many changes in a short while (references resolving) are assembled together.
ASSEMBLY_DELAY = env_int("ASSEMBLY_DELAY", 2)
# A claim whose claimant hasn't edited its section in this many days is stale.
CLAIM_STALE_AFTER_DAYS = env_int("CLAIM_STALE_AFTER_DAYS", 21)
# PDF exports are printed by headless Chromium (Debian's: apt-get install chromium).
# On the web a worker prints them into the cache, which web and workers share.
CHROMIUM_PATH = env_str("CHROMIUM_PATH", "/usr/bin/chromium")

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
SITE_ID = 1
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up also asks for a display name and an @handle, so mentions reach new people.
ACCOUNT_SIGNUP_FORM_CLASS = "sections.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
SOCIALACCOUNT_STORE_TOKENS = False

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "reviewapp@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Figure files (sections.figures): on the filesystem under MEDIA_ROOT, or, with
# FIGURES_S3_BUCKET set, in an S3-compatible store through django-storages (install
# `django-storages[s3]` then; credentials come from the usual AWS_* variables, which
# boto3 reads itself). They are served by the app, never from MEDIA_URL.
FIGURES_S3_BUCKET = env_str("FIGURES_S3_BUCKET")
FIGURES_STORAGE = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": FIGURES_S3_BUCKET,
            "endpoint_url": env_str("FIGURES_S3_ENDPOINT_URL") or None,
            "region_name": env_str("FIGURES_S3_REGION") or None,
            "location": env_str("FIGURES_S3_PREFIX", "figures"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if FIGURES_S3_BUCKET
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "figures")},
    }
)
# Largest figure file an upload or import may hold.
FIGURE_MAX_BYTES = env_int("FIGURE_MAX_BYTES", 10 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "figures": FIGURES_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Outside services the citation workers call; tests point these at a local server.
CITATION_DOI_URL = env_str("CITATION_DOI_URL", "https://doi.org")
CITATION_CROSSREF_URL = env_str("CITATION_CROSSREF_URL", "https://api.crossref.org")
CITATION_NCBI_URL = env_str("CITATION_NCBI_URL", "https://api.ncbi.nlm.nih.gov")
CITATION_EUTILS_URL = env_str(
    "CITATION_EUTILS_URL", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
)
CITATION_ARXIV_URL = env_str("CITATION_ARXIV_URL", "https://export.arxiv.org")
CITATION_ISBN_URL = env_str("CITATION_ISBN_URL", "https://www.googleapis.com/books/v1")
CITATION_CONTACT_EMAIL = env_str("CITATION_CONTACT_EMAIL", DEFAULT_FROM_EMAIL)
# Seconds to wait for a connection or for the next bytes of an answer, and for the
# whole look-up of one key (every request, redirect and fallback of it, however
# slowly the bytes come); a larger answer than CITATION_MAX_BYTES is refused. At most
# CITATION_MAX_PER_HOST requests to one service are in flight at once, across all
# workers.
CITATION_TIMEOUT = env_float("CITATION_TIMEOUT", 10.0)
CITATION_DEADLINE = env_float("CITATION_DEADLINE", 3 * CITATION_TIMEOUT)
CITATION_MAX_BYTES = env_int("CITATION_MAX_BYTES", 2_000_000)
CITATION_MAX_PER_HOST = env_int("CITATION_MAX_PER_HOST", 8)

# Fetching policy: tries before a reference fails, their backoff (seconds, doubling),
# and when beat tries a failed one again. Automatic fetching after saves and imports
# needs a worker: run eagerly it would hold the request, so the embedded default
# leaves it to `manage.py resolve_references`.
CITATION_AUTO_RESOLVE = env_bool("CITATION_AUTO_RESOLVE", not CELERY_TASK_ALWAYS_EAGER)
CITATION_MAX_ATTEMPTS = env_int("CITATION_MAX_ATTEMPTS", 6)
CITATION_BACKOFF_BASE = env_int("CITATION_BACKOFF_BASE", 5)
CITATION_BACKOFF_MAX = env_int("CITATION_BACKOFF_MAX", 600)
CITATION_RETRY_FAILED_AFTER = env_int("CITATION_RETRY_FAILED_AFTER", 3600)
# A waiting reference no one has touched for this long, with no fetch in progress
# and no try scheduled, lost its task (a killed worker: the broker hands the task out
# again only after the visibility timeout, an hour); beat's sweep, every
# CITATION_SWEEP_EVERY seconds, queues it again. Far longer than one look-up takes.
CITATION_PENDING_STUCK_AFTER = env_int(
    "CITATION_PENDING_STUCK_AFTER", int(4 * CITATION_DEADLINE)
)

# Every outbound request (sections/citations/http.py) connects only to public
# addresses. Tests serve recorded answers on 127.0.0.1 and name it here; an
# allowance in production would reopen the door, so DEBUG=0 refuses one.
OUTBOUND_ALLOWED_ADDRESSES = env_list("OUTBOUND_ALLOWED_ADDRESSES")
if OUTBOUND_ALLOWED_ADDRESSES and not DEBUG:
    raise ImproperlyConfigured(
        "OUTBOUND_ALLOWED_ADDRESSES is for tests on this machine; with DEBUG=0 every "
        "outbound request goes to public addresses only."
    )

# Production hardening; `manage.py check --deploy` passes with DEBUG=0 as the README says.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

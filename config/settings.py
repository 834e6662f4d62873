"""Open DMC settings, driven by the environment.

DMC_ENV selects the profile: ``dev`` (default; the demo and local work), ``test`` (set by the
test runner) and ``prod``. DATABASE_URL selects the database (SQLite under var/ by default).
The settable server clock (DMC_CLOCK_SETTABLE) can never be switched on in ``prod``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DMC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DMC_ENV = os.environ.get("DMC_ENV", "dev")
if DMC_ENV not in {"dev", "test", "prod"}:
    raise ImproperlyConfigured(f"DMC_ENV must be dev, test or prod, not {DMC_ENV!r}")
PROD = DMC_ENV == "prod"

DEBUG = os.environ.get("DMC_DEBUG", "0" if PROD else "1") == "1" and not PROD
if PROD:
    SECRET_KEY = os.environ.get("DMC_SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DMC_SECRET_KEY (>= 50 characters) is required in production")
else:
    SECRET_KEY = os.environ.get("DMC_SECRET_KEY", "insecure-dev-key-" + "x" * 40)

ALLOWED_HOSTS = os.environ.get("DMC_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

# The server clock may be moved only outside production (tests, the demo).
DMC_CLOCK_SETTABLE = (not PROD) and os.environ.get("DMC_CLOCK_SETTABLE", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # issue 9: the API docs use ninja's bundled Swagger UI, not a CDN (CSP)
    "dmc.core",
    "dmc.accounts",
    "dmc.schools",
    "dmc.rounds",
    "dmc.students",
    "dmc.cases",
    "dmc.yearend",
    "dmc.demo",
    "dmc.nutrition",  # issue 7
    "dmc.budget",  # issue 7
    "dmc.privacy",
    "dmc.reports",  # issue 7: totals, dashboards
    "dmc.jobs",  # the background job queue (school imports on deadline day)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dmc.core.middleware.DatabaseUnavailableMiddleware",  # issue 9: DB down -> fast 503
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dmc.perf.middleware.AdmissionMiddleware",  # issue 8: shed load fast (503)
    "dmc.core.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dmc.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dmc.accounts.middleware.ActorMiddleware",
    "dmc.perf.middleware.FairShareMiddleware",  # issue 8: per-school share (429)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dmc.core.security.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "dmc" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dmc.core.context.dmc_context",
            ],
            "builtins": ["dmc.core.templatetags.dmc"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dmc.sqlite3'}"),
        conn_max_age=int(os.environ.get("DMC_CONN_MAX_AGE", "60")),
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue (busy timeout) instead of failing on a lock upgrade.
    _db["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 10,
    }
    _db["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so concurrent-transaction tests and the live server share one database.
    # One file per test process, so two test runs in one checkout never share a database.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test_dmc_{os.getpid()}.sqlite3")}
else:
    _db.setdefault("OPTIONS", {})
    _db["TEST"] = {"NAME": os.environ.get("DMC_TEST_DB_NAME", "test_dmc")}
    # issue 9: an unreachable server fails fast (503) instead of hanging a worker, and a reused
    # connection is checked first, so service resumes by itself when the server is back
    _db["OPTIONS"].setdefault("connect_timeout", int(os.environ.get("DMC_DB_CONNECT_TIMEOUT", "3")))
    _db["CONN_HEALTH_CHECKS"] = True
# issue 9: a refused CSRF check in the project's error shapes (JSON on /api/, the Thai page)
CSRF_FAILURE_VIEW = "dmc.core.csrf.csrf_failure"
# issue 8: each process keeps the year/round calendar this long (rounds.selectors.calendar)
DMC_CALENDAR_CACHE_SECONDS = float(os.environ.get("DMC_CALENDAR_CACHE_SECONDS", "1"))
# issue 9: Retry-After of the 503 answered while the database is unavailable
DMC_RETRY_AFTER_SECONDS = int(os.environ.get("DMC_RETRY_AFTER_SECONDS", "30"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# issue 8: the user comes with the role assignment in one query (accounts/backends.py); Django's
# own backend stays listed so that sessions made before the change stay valid
AUTHENTICATION_BACKENDS = [
    "dmc.accounts.backends.PreloadingBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "role-pick"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [  # Django's validators with Thai/English messages (issue 9)
    {"NAME": "dmc.accounts.passwords.MinimumLength", "OPTIONS": {"min_length": 10}},
    {"NAME": "dmc.accounts.passwords.NotCommon"},
    {"NAME": "dmc.accounts.passwords.NotNumeric"},
    {"NAME": "dmc.accounts.passwords.NotLikeUser"},
]
# Argon2id at OWASP's minimum (see Argon2idHasher); the others only verify older hashes, which are
# rewritten as Argon2id at the next successful login
PASSWORD_HASHERS = [
    "dmc.accounts.passwords.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if DMC_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

LANGUAGE_CODE = "th"
LANGUAGES = [("th", "ไทย"), ("en", "English")]
TIME_ZONE = "Asia/Bangkok"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "dmc" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PROD
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the cookie-less meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PROD:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("DMC_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Application logs never carry names or citizen IDs (PDPA); the filter masks 13-digit runs anyway.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"pdpa": {"()": "dmc.core.logging.MaskPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["pdpa"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("DMC_LOG_LEVEL", "WARNING")},
}

DMC_STUDENT_PAGE_SIZE = 50
DMC_AREA_PAGE_SIZE = 50  # schools per page of the area's confirmation dashboard

# Case evidence (never served as public media: a scoped view streams it).
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media-not-public/"
DMC_EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
WHITENOISE_USE_FINDERS = not PROD

# issue 7: nutrition references (a folder of extra DoH cut-off files; the default scheme) and
# per-head subsidy rate tables (a folder of extra rate files)
DMC_NUTRITION_DIR = os.environ.get("DMC_NUTRITION_DIR", "")
DMC_NUTRITION_REFERENCE = os.environ.get("DMC_NUTRITION_REFERENCE", "who")
DMC_BUDGET_DIR = os.environ.get("DMC_BUDGET_DIR", "")
# Issue 8: load shedding (dmc/perf; docs/deployment.md). Per process: at most DMC_ADMIT_SLOTS
# requests run at once, DMC_ADMIT_QUEUE more wait up to DMC_ADMIT_WAIT_MS for a slot, the rest get
# 503 + Retry-After at once (0 slots: off; it needs more server threads than slots + queue).
# Fair share: token buckets "rate per second/burst" per school (web and API), per user for
# area/OBEC roles, per API token; 429 + Retry-After. Counts are per process unless
# DMC_RATE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) shares them.
DMC_ADMIT_SLOTS = int(os.environ.get("DMC_ADMIT_SLOTS", "4"))
DMC_ADMIT_QUEUE = int(os.environ.get("DMC_ADMIT_QUEUE", "8"))
DMC_ADMIT_WAIT_MS = int(os.environ.get("DMC_ADMIT_WAIT_MS", "300"))
# ... and, under the queue-aware gunicorn worker (dmc.perf.worker), a request that already waited
# longer than this for a thread is refused at once (0: off).
DMC_ADMIT_MAX_QUEUE_MS = int(os.environ.get("DMC_ADMIT_MAX_QUEUE_MS", "500"))
DMC_ADMIT_RETRY_AFTER = int(os.environ.get("DMC_ADMIT_RETRY_AFTER", "2"))
DMC_RATE_LIMITS = os.environ.get("DMC_RATE_LIMITS", "0" if DMC_ENV == "test" else "1") == "1"
DMC_RATE_SCHOOL = os.environ.get("DMC_RATE_SCHOOL", "5/40")
DMC_RATE_USER = os.environ.get("DMC_RATE_USER", "10/60")
DMC_RATE_TOKEN = os.environ.get("DMC_RATE_TOKEN", "10/40")
DMC_RATE_REDIS_URL = os.environ.get("DMC_RATE_REDIS_URL", "")
# Issue 8: reports may read from a streaming replica (dmc/perf/db.py; docs/deployment.md).
DMC_REPLICA_APPS = tuple(os.environ.get("DMC_REPLICA_APPS", "reports").split(","))
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("DMC_CONN_MAX_AGE", "60")),
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["dmc.perf.db.ReplicaRouter"]

# --- issue 9: authentication, step-up, security headers --------------------------------------
# Failed logins: per account and per client address, counted in the database (all workers).
DMC_AUTH_USER_MAX_FAILURES = int(os.environ.get("DMC_AUTH_USER_MAX_FAILURES", "5"))
# schools share NAT addresses: a higher limit per address than per account
DMC_AUTH_IP_MAX_FAILURES = int(os.environ.get("DMC_AUTH_IP_MAX_FAILURES", "30"))
DMC_AUTH_WINDOW_SECONDS = int(os.environ.get("DMC_AUTH_WINDOW_SECONDS", "900"))
DMC_AUTH_LOCK_SECONDS = int(os.environ.get("DMC_AUTH_LOCK_SECONDS", "60"))
DMC_AUTH_LOCK_MAX_SECONDS = int(os.environ.get("DMC_AUTH_LOCK_MAX_SECONDS", "3600"))
# A header a trusted reverse proxy sets to the client address (e.g. HTTP_X_REAL_IP); empty:
# REMOTE_ADDR.
DMC_TRUSTED_PROXY_HEADER = os.environ.get("DMC_TRUSTED_PROXY_HEADER", "")
# Certifying needs the password again within this many minutes.
DMC_STEP_UP_MINUTES = int(os.environ.get("DMC_STEP_UP_MINUTES", "5"))
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- the background job queue (dmc/jobs; docs/deployment.md) ------------------------------------
# Inline: a job runs in the enqueuing thread when its transaction commits (the tests); otherwise
# `dmc worker` processes run it (`dmc serve` starts DMC_JOB_WORKERS of them beside gunicorn).
DMC_JOBS_INLINE = os.environ.get("DMC_JOBS_INLINE", "1" if DMC_ENV == "test" else "0") == "1"
DMC_JOB_WORKERS = int(os.environ.get("DMC_JOB_WORKERS", "1"))
DMC_JOB_POLL_SECONDS = float(os.environ.get("DMC_JOB_POLL_SECONDS", "1"))
DMC_JOB_HEARTBEAT_SECONDS = float(os.environ.get("DMC_JOB_HEARTBEAT_SECONDS", "2"))
# a running job whose heartbeat is older than this is claimed again (its worker died) ...
DMC_JOB_STALE_SECONDS = float(os.environ.get("DMC_JOB_STALE_SECONDS", "60"))
# ... at most this many times in all, then it fails with job_abandoned
DMC_JOB_MAX_ATTEMPTS = int(os.environ.get("DMC_JOB_MAX_ATTEMPTS", "3"))
DMC_JOB_RETENTION_DAYS = float(os.environ.get("DMC_JOB_RETENTION_DAYS", "7"))

"""One settings module, driven by environment variables.

Every variable has a safe default for a laptop: with nothing set the app runs on a SQLite
file and Celery's filesystem broker under ``var/``. ``.env.example`` lists them all.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "cases",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # While the database is unreachable: a quick 503 with Retry-After, never a 500. Stays outside
    # every middleware that may query the database (sessions, auth).
    "annotator.middleware.DatabaseUnavailableMiddleware",
    # Refuses oversized /api/ bodies (413) before anything reads them.
    "cases.api.middleware.ApiBodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A NUL character in a page's query or form is a 400, not a 500 from PostgreSQL.
    "frontend.middleware.RejectNulCharactersMiddleware",
    # Turns a sign-in refused for too many failures into the lockout page (last, as axes asks).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file, broker folders and uploads live here
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'annotator.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # A database that is down or does not answer fails the request in seconds (a 503), not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes's backend only counts sign-in attempts and refuses locked-out ones; ModelBackend signs in.
AUTHENTICATION_BACKENDS = [
    "frontend.lockout.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins are counted per username and client address together, so one address guessing
# at many accounts cannot lock every user out, and nobody elsewhere is locked out of their own
# account. A success resets the count; each refused attempt during a lockout starts the cool-off
# again. API tokens never pass through authenticate(), so they are not counted or locked.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "frontend.lockout.lockout_response"  # the login page, status 429
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no banner on every start; failures are still logged, names masked
# Masked in the failed attempts axes stores (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    # Uploaded evidence lives outside STATIC and is never served by the web server directly.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")))},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = STORAGES["default"]["OPTIONS"]["location"]
# Largest non-file request body (form fields, JSON). File uploads are limited separately.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
EVIDENCE_MAX_FILE_BYTES = env_int("EVIDENCE_MAX_FILE_BYTES", 25 * 1024 * 1024)

# --- Security: secure by default when DEBUG is off -------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Captured pages are adversaries' pages: no inline script anywhere, nothing from other hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Tokens first: its WWW-Authenticate challenge makes unauthenticated requests a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "cases.api.schema.ApiAutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "cases.api.filters.ApiSearchFilter",
        "cases.api.filters.ApiOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "cases.api.pagination.ApiPagination",
    # JSON only: no browsable API (its pages would need inline script under our CSP).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["cases.api.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "cases.api.negotiation.FirstRendererNegotiation",
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS is a 405 rather than a description of the serializers
    "URL_FORMAT_OVERRIDE": None,  # ?format= is the export's own parameter, not content negotiation
    "EXCEPTION_HANDLER": "cases.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["cases.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_TOKEN_RATE", "600/min")},
}
# Largest /api/ request body: a multipart evidence upload (files up to EVIDENCE_MAX_FILE_BYTES plus
# the form). Other bodies are held to DATA_UPLOAD_MAX_MEMORY_SIZE. Larger ones get a 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 30 * 1024 * 1024)
API_MAX_IMPORT_BYTES = env_int("API_MAX_IMPORT_BYTES", 1024 * 1024 * 1024)  # /api/imports/ uploads
# Largest file an import accepts, whichever way it arrives (page, API, command): a bundle streams,
# so its limit is disk, not memory; an indicator file is parsed whole.
IMPORT_BUNDLE_MAX_BYTES = env_int("IMPORT_BUNDLE_MAX_BYTES", 4 * 1024**3)
IMPORT_INDICATOR_MAX_BYTES = env_int("IMPORT_INDICATOR_MAX_BYTES", EVIDENCE_MAX_FILE_BYTES)
SPECTACULAR_SETTINGS = {
    "TITLE": "OSINT Annotator API",
    "DESCRIPTION": (
        "Investigate coordinated inauthentic behaviour networks: accounts, posts, media brands, "
        "cases, evidence with integrity hashes, review queues, jobs and the audit trail. Every object "
        "belongs to a team; you see your teams' objects only, and another team's object is a 404. "
        "Authenticate with a personal token (`Authorization: Bearer <token>`) or the browser session. "
        'Every error has one shape: `{"error": {"code", "message", "fields"}}`. See docs/api.md.'
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PlatformEnum": "cases.models.Platform",
        "RoleEnum": "cases.models.Role",
        "PriorityEnum": "cases.models.Priority",
        "AccountKindEnum": "cases.models.AccountKind",
        "ActorKindEnum": "cases.models.ActorKind",
        "EvidenceKindEnum": "cases.models.EvidenceKind",
        "NewEvidenceKindEnum": "cases.api.serializers.CREATABLE_EVIDENCE_KINDS",
        "JobKindEnum": "cases.models.JobKind",
        "BrandRoleEnum": "cases.models.BrandRole",
        "FileRoleEnum": "cases.models.EvidenceFile.Role",
        "CaseStatusEnum": "cases.models.CaseStatus",
        "JobStatusEnum": "cases.models.JobStatus",
        "SuggestionStatusEnum": "cases.models.SuggestionStatus",
    },
    # Swagger UI from the drf-spectacular-sidecar package: served by us, no CDN (CSP, offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False},
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Producer and consumer share one folder: the web process writes, the worker reads.
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # A Redis message that is not acknowledged within this many seconds is handed out again:
    # it must exceed the hard time limit of the longest job, or a long job would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200),
        # A broker that is down or hung costs a request that starts a job at most about this long
        # (start_job sends after commit; the job stays queued and the reconciler sends it later).
        # The socket timeout must stay above kombu's 1 s BRPOP wait, or idle workers reconnect.
        "socket_connect_timeout": env_int("CELERY_BROKER_CONNECT_TIMEOUT", 1),
        "socket_timeout": env_int("CELERY_BROKER_SOCKET_TIMEOUT", 2),
    }
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True  # outcomes live on Job rows, not in a result backend
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# A job's message is acknowledged only when it has finished, and handed back if the process
# running it dies, so a killed worker never loses a job; jobs are written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
# A job started this many times without finishing (each start after the first is a redelivery
# because the process running it died: killed, out of memory) is marked failed, not run again.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a job's message: one quick try (docs/deployment.md, "Broker outages and lost workers").
# A send that fails is logged, the Job row stays queued, and the reconciler below sends it again.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECT_TIMEOUT", 1)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env_int("CELERY_PUBLISH_MAX_RETRIES", 0),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The job reconciler (cases/services/job_reconciler.py), run by beat every RECONCILE_INTERVAL_SECONDS:
# a queued job older than RECONCILE_QUEUED_AFTER seconds (its message never reached the broker)
# and a running job silent for JOB_LEASE_SECONDS (its worker died) are sent to a worker again.
# JOB_LEASE_SECONDS must exceed the longest gap between two heartbeats of any job.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 300)
RECONCILE_QUEUED_AFTER = env_int("RECONCILE_QUEUED_AFTER", 180)
RECONCILE_INTERVAL_SECONDS = env_int("RECONCILE_INTERVAL_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "reconcile-jobs": {
        "task": "cases.tasks.reconcile_jobs_task",
        "schedule": RECONCILE_INTERVAL_SECONDS,
        # A run that waited longer than the interval for a worker is dropped: the next one is due.
        "options": {"expires": RECONCILE_INTERVAL_SECONDS},
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Axes logs every successful sign-in at INFO; failures and lockouts are WARNINGs.
        "axes": {"level": "WARNING"},
    },
}

# --- Browser capture (extension, bookmarklet) and signed manifests: docs/extension.md ----------
# Largest screenshot (PNG/JPEG) and page (HTML/MHTML) one capture may upload; larger ones get a 413.
# Their sum and the form must also fit API_MAX_BODY_BYTES for the API.
CAPTURE_MAX_SCREENSHOT_BYTES = env_int("CAPTURE_MAX_SCREENSHOT_BYTES", 10 * 1024 * 1024)
CAPTURE_MAX_PAGE_BYTES = env_int("CAPTURE_MAX_PAGE_BYTES", 15 * 1024 * 1024)
# Longest selection / source text a capture may carry, in characters.
CAPTURE_MAX_TEXT_CHARS = env_int("CAPTURE_MAX_TEXT_CHARS", 100_000)
# The Ed25519 private key that signs evidence manifests (PEM, PKCS#8). Created with mode 0600 on
# first use, or by `manage.py generate_signing_key`. Keep it out of backups anyone may read.
MANIFEST_SIGNING_KEY_FILE = Path(
    os.environ.get("MANIFEST_SIGNING_KEY_FILE", VAR_DIR / "keys" / "manifest-signing-key.pem")
)

"""Settings shared by every environment, read from the environment with django-environ."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("HITL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "hitl_site.apps.HitlAdminConfig",  # django.contrib.admin with the site's own AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "guardian",
    "audit",
    "refunds",
    "reviews",
    "analytics",  # the loop figures, dashboard, /metrics, evaluation set
    "notifications",  # e-mail and Slack-compatible notices to reviewers, one-time links
    "hitl_site",  # labels template tags, favicon and stylesheet, date formats
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "analytics.prometheus.PrometheusMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hitl_site.urls"
WSGI_APPLICATION = "hitl_site.wsgi.application"
ASGI_APPLICATION = "hitl_site.asgi.application"

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

# --- Database -------------------------------------------------------------------------------
# Embedded default: SQLite in var/. Scale-out: DATABASE_URL=postgres://...
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so a read-then-write inside
    # a transaction (the audit chain, transitions) cannot interleave with another writer;
    # WAL lets the web process read while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Persistent connections on both: a new connection per request costs a PostgreSQL backend
# (or, on SQLite, a connect plus the WAL checkpoint that closing the last one runs).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 default, adopted now (webhook URLs are https)

# --- Cache and broker -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="hitl"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=120),
    # retry must exceed timeout, or a slow task is redelivered while still running.
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    Q_CLUSTER["broker_class"] = "hitl_site.broker.PooledRedis"  # one pool per process
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env.float("Q_POLL", default=0.5)

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Without a ``next``, the login sends everyone to ``/``, which redirects each role to its
# landing page (hitl_site.navigation.landing_url): reviewers to the review queue.
LOGIN_REDIRECT_URL = "home"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Times to the second (the audit log orders what happened within a minute): see
# hitl_site/formats/en/formats.py.
FORMAT_MODULE_PATH = ["hitl_site.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- API ------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
API_MAX_MESSAGE_CHARS = env.int("API_MAX_MESSAGE_CHARS", default=5000)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["refunds.api.authentication.IntegrationKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["refunds.api.permissions.IsIntegration"],
    "DEFAULT_PARSER_CLASSES": ["refunds.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["refunds.api.throttling.IntegrationRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"integration": env.str("API_THROTTLE_RATE", default="600/min")},
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "hitl_site.openapi.ErrorResponsesAutoSchema",
    "EXCEPTION_HANDLER": "hitl_site.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "hitl_site intake API",
    "DESCRIPTION": "Refund and replacement requests from integrations; see README.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI assets served from our own static files: no CDN needed (offline machines).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: one JSON object per line -----------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_q": {"level": env.str("Q_LOG_LEVEL", default="WARNING"), "propagate": True},
    },
}

# --- Product settings ----------------------------------------------------------------------
# Wiring, not configuration: the audit log knows no app, so the project names the function
# that says which records make up one case (the audit admin's "refund request" filter).
HITL_AUDIT_CASE_SUBJECTS = "reviews.selectors.case_audit_subjects"
# seed_demo creates users with published passwords: never on a production database.
HITL_DEMO_DATA_ALLOWED = env.bool("HITL_DEMO_DATA_ALLOWED", default=True)
HITL_DRAFTER_PROVIDER = env.str("HITL_DRAFTER_PROVIDER", default="offline")  # or "openai"
HITL_OPENAI_MODEL = env.str("HITL_OPENAI_MODEL", default="gpt-4o-mini")
HITL_OPENAI_BASE_URL = env.str("HITL_OPENAI_BASE_URL", default="") or None
HITL_OPENAI_API_KEY = env.str("HITL_OPENAI_API_KEY", default="") or env.str(
    "OPENAI_API_KEY", default=""
)
# One attempt lasts at most TIMEOUT * (MAX_RETRIES + 1); drafting stops starting attempts
# that could not end within 3/4 of Q_TIMEOUT (see refunds.pipeline), so keep them well below.
HITL_OPENAI_TIMEOUT = env.float("HITL_OPENAI_TIMEOUT", default=20.0)
HITL_OPENAI_MAX_RETRIES = env.int("HITL_OPENAI_MAX_RETRIES", default=1)
# "function_calling" works on OpenAI, vLLM, Ollama and llama.cpp; "json_schema" is stricter
# where the server supports OpenAI structured outputs.
HITL_OPENAI_STRUCTURED_METHOD = env.str("HITL_OPENAI_STRUCTURED_METHOD", default="function_calling")
HITL_DRAFT_MAX_ATTEMPTS = env.int("HITL_DRAFT_MAX_ATTEMPTS", default=3)
HITL_DRAFT_BACKOFF_SECONDS = env.float("HITL_DRAFT_BACKOFF_SECONDS", default=1.0)
HITL_DRAFT_CONCURRENCY = env.int("HITL_DRAFT_CONCURRENCY", default=16)
HITL_DRAFT_BATCH_SIZE = env.int("HITL_DRAFT_BATCH_SIZE", default=32)
HITL_DRAFT_STALE_SECONDS = env.int("HITL_DRAFT_STALE_SECONDS", default=600)
# Precedents: the k most similar past human-decided cases shown to the drafter (0: off);
# a precedent must share at least this share of terms with the case (Dice, 0..1); on
# SQLite the newest HITL_PRECEDENTS_POOL final decisions are ranked in Python (BM25).
HITL_PRECEDENTS_K = env.int("HITL_PRECEDENTS_K", default=3)
HITL_PRECEDENTS_MIN_SIMILARITY = env.float("HITL_PRECEDENTS_MIN_SIMILARITY", default=0.2)
HITL_PRECEDENTS_POOL = env.int("HITL_PRECEDENTS_POOL", default=2000)

# --- Execution, webhooks, audit anchors (see docs/execution.md) ------------------------------
HITL_PAYMENT_BACKEND = env.str("HITL_PAYMENT_BACKEND", default="ledger")  # ledger | http
HITL_PAYMENT_URL = env.str("HITL_PAYMENT_URL", default="")
HITL_PAYMENT_HMAC_SECRET = env.str("HITL_PAYMENT_HMAC_SECRET", default="")
HITL_PAYMENT_TIMEOUT = env.float("HITL_PAYMENT_TIMEOUT", default=10.0)
# The in-flight lock outlives any single provider call (HITL_PAYMENT_TIMEOUT).
HITL_EXECUTION_LOCK_SECONDS = env.int("HITL_EXECUTION_LOCK_SECONDS", default=120)
# Within the window an ambiguous call is resent with the same key; after it, the provider
# is asked for the outcome instead.
HITL_EXECUTION_RETRY_WINDOW = env.int("HITL_EXECUTION_RETRY_WINDOW", default=900)
HITL_EXECUTION_RETRY_BACKOFF = env.int("HITL_EXECUTION_RETRY_BACKOFF", default=15)
# A final decision with no finished execution this long after it was made is re-driven.
HITL_RECONCILE_GRACE = env.int("HITL_RECONCILE_GRACE", default=120)
HITL_WEBHOOK_TIMEOUT = env.float("HITL_WEBHOOK_TIMEOUT", default=5.0)
HITL_WEBHOOK_MAX_ATTEMPTS = env.int("HITL_WEBHOOK_MAX_ATTEMPTS", default=8)
HITL_WEBHOOK_BACKOFF = env.int("HITL_WEBHOOK_BACKOFF", default=30)
HITL_AUDIT_ANCHOR_PATH = env.str(
    "HITL_AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchors.jsonl")
)
# Further places each anchor goes, that the database host cannot rewrite (audit/anchors.py):
# a command that gets the anchor as JSON on stdin (e.g. an upload to an S3 Object Lock or
# GCS retention-locked bucket), and/or an HTTP endpoint that gets it as a JSON POST.
HITL_AUDIT_ANCHOR_COMMAND = env.str("HITL_AUDIT_ANCHOR_COMMAND", default="")
HITL_AUDIT_ANCHOR_URL = env.str("HITL_AUDIT_ANCHOR_URL", default="")
HITL_AUDIT_ANCHOR_URL_TOKEN = env.str("HITL_AUDIT_ANCHOR_URL_TOKEN", default="")
HITL_AUDIT_ANCHOR_TIMEOUT = env.float("HITL_AUDIT_ANCHOR_TIMEOUT", default=30.0)

# --- Integrity keys (audit/integrity.py; README "Integrity keys") -------------------------
# HMAC-SHA256 key of the audit chain and the final-decision payload hashes: kept out of the
# database (and apart from SECRET_KEY) so that a database writer cannot recompute them.
# Production requires it; local and test settings fall back to a published development key.
HITL_INTEGRITY_KEY_ID = env.str("HITL_INTEGRITY_KEY_ID", default="k1")
HITL_INTEGRITY_KEY = env.str("HITL_INTEGRITY_KEY", default="")
# Verification-only keys, "id:secret,id:secret": retired keys (kept for as long as rows
# made with them must verify) and, during a rotation, the next key.
HITL_INTEGRITY_KEYS_OLD = env.str("HITL_INTEGRITY_KEYS_OLD", default="")
DEVELOPMENT_INTEGRITY_KEY_ID = "dev"
DEVELOPMENT_INTEGRITY_KEY = "hitl-development-integrity-key-not-a-secret"

# --- Human review (reviews app; see docs/review.md) ----------------------------------------
# An approval above this amount (in the request's currency) needs a second, different approver.
REVIEW_FOUR_EYES_AMOUNT = env.str("REVIEW_FOUR_EYES_AMOUNT", default="250.00")
# How long a claim keeps a task locked to one reviewer.
REVIEW_CLAIM_MINUTES = env.int("REVIEW_CLAIM_MINUTES", default=30)

# --- Operations (analytics app: dashboard, drift alert, /metrics; docs/operations.md) ---
# Required as "Authorization: Bearer <token>" on /metrics when set; empty: open endpoint.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# /metrics reads its table-wide totals at most this often (shared by every scraper and replica).
METRICS_DB_CACHE_SECONDS = env.int("METRICS_DB_CACHE_SECONDS", default=60)
# Drift alert: today's review rate or override rate against the pooled rate of the
# trailing baseline days; alert when they differ by more than the margin (absolute, 0.10 =
# ten percentage points) and today has at least the minimum number of cases.
HITL_DRIFT_BASELINE_DAYS = env.int("HITL_DRIFT_BASELINE_DAYS", default=14)
HITL_DRIFT_MARGIN = env.float("HITL_DRIFT_MARGIN", default=0.10)
HITL_DRIFT_MIN_CASES = env.int("HITL_DRIFT_MIN_CASES", default=20)
# Gate-tuning suggestions (analytics.gate_tuning; the admin's "Suggested changes" page and
# `manage.py suggest_gate_changes`): the weeks of reviewed history replayed, the share of the
# cases a change would auto-approve that humans approved unchanged, and the fewest such cases.
HITL_GATE_TUNING_WEEKS = env.int("HITL_GATE_TUNING_WEEKS", default=8)
HITL_GATE_TUNING_MIN_PRECISION = env.float("HITL_GATE_TUNING_MIN_PRECISION", default=0.95)
HITL_GATE_TUNING_MIN_CASES = env.int("HITL_GATE_TUNING_MIN_CASES", default=20)
# Rubber-stamp warning (dashboard, per reviewer over the period): at least MIN_DECISIONS
# final decisions, at least UNCHANGED_SHARE of them approvals of the AI's draft unchanged,
# and a median decision time (from the reviewer's claim) under MEDIAN_SECONDS.
HITL_RUBBER_STAMP_MIN_DECISIONS = env.int("HITL_RUBBER_STAMP_MIN_DECISIONS", default=20)
HITL_RUBBER_STAMP_UNCHANGED_SHARE = env.float("HITL_RUBBER_STAMP_UNCHANGED_SHARE", default=0.95)
HITL_RUBBER_STAMP_MEDIAN_SECONDS = env.float("HITL_RUBBER_STAMP_MEDIAN_SECONDS", default=20.0)
# Daily roll-up of the dashboard's figures (analytics.rollup, scheduled hourly): closed days
# of this window without a roll-up are back-filled (at least the dashboard's 90 days), and
# the last SETTLE days are counted again, since their cases may still change status.
HITL_LOOP_STATS_DAYS = env.int("HITL_LOOP_STATS_DAYS", default=90)
HITL_LOOP_STATS_SETTLE_DAYS = env.int("HITL_LOOP_STATS_SETTLE_DAYS", default=3)

# --- Notifications (notifications app; README "Notifications") ------------------------------
# E-mail through Django's mail framework. The default needs no server: messages are printed
# by the worker (console backend). Production: django.core.mail.backends.smtp.EmailBackend.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hitl-site@localhost")
# The address the links in notifications start with (no trailing slash).
HITL_SITE_URL = env.str("HITL_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# A one-time confirm link expires this many hours after it was sent.
HITL_NOTIFY_LINK_HOURS = env.int("HITL_NOTIFY_LINK_HOURS", default=24)
# A task due within this many minutes (and not yet warned at its current version) is warned.
HITL_NOTIFY_SLA_WARNING_MINUTES = env.int("HITL_NOTIFY_SLA_WARNING_MINUTES", default=30)
# Users in digest mode get their pending notifications as one message this often.
HITL_NOTIFY_DIGEST_MINUTES = env.int("HITL_NOTIFY_DIGEST_MINUTES", default=60)
HITL_NOTIFY_TIMEOUT = env.float("HITL_NOTIFY_TIMEOUT", default=5.0)
HITL_NOTIFY_MAX_ATTEMPTS = env.int("HITL_NOTIFY_MAX_ATTEMPTS", default=6)
HITL_NOTIFY_BACKOFF = env.int("HITL_NOTIFY_BACKOFF", default=30)
# Plain-http Slack-compatible webhook URLs are accepted for 127.0.0.1 only, and only with
# this on (DEBUG, tests); everywhere else they must be https.
HITL_NOTIFY_ALLOW_LOCAL_HTTP = env.bool("HITL_NOTIFY_ALLOW_LOCAL_HTTP", default=DEBUG)

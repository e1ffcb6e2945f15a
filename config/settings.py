"""clinicdesk settings: every value comes from an environment variable.

The defaults are the embedded, single-laptop setup (SQLite under var/, in-process task worker,
console e-mail). `CLINICDESK_ENV=production` refuses to start with any unsafe default.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLINICDESK_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = env("CLINICDESK_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
TESTING = env_bool("CLINICDESK_TESTING", False) or "pytest" in sys.modules

_DEV_SECRET = "clinicdesk-development-only-secret-key-change-me-0123456789"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", _DEV_SECRET)
DEBUG = env_bool("DEBUG", not PRODUCTION and not TESTING)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if not PRODUCTION else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

if PRODUCTION:
    problems = []
    if SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEBUG:
        problems.append("DEBUG must be off")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the site's hosts")
    if not env("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) and not env_bool(
        "CLINICDESK_ALLOW_SQLITE", False
    ):
        problems.append("DATABASE_URL must point at PostgreSQL (or set CLINICDESK_ALLOW_SQLITE=1 for one machine)")
    if problems:
        raise ImproperlyConfigured("Unsafe production settings: " + "; ".join(problems))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "auditlog",
    "ninja",
    "django_tasks_db",
    "clinicdesk.core",
    "clinicdesk.patients",
    "clinicdesk.staff",
    "clinicdesk.scheduling",
    "clinicdesk.rostering",
    "clinicdesk.ledger",
    "clinicdesk.inventory",
    "clinicdesk.inventory.assets",
    "clinicdesk.communications",
    "clinicdesk.billing",
    "clinicdesk.insurance",
    "clinicdesk.goals",
    "clinicdesk.fhir",
]

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    INSTALLED_APPS += ["django_rq"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinicdesk.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinicdesk.core.middleware.SessionLifetimeMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "clinicdesk.core.middleware.MfaRequiredMiddleware",
    "clinicdesk.core.middleware.DenyByDefaultMiddleware",
]

if not (DEBUG or TESTING):
    # Static files straight from the web process in production (behind the reverse proxy's cache).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clinicdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "clinicdesk.core.context_processors.navigation",
            ],
        },
    },
]

# Database: embedded SQLite by default, PostgreSQL through DATABASE_URL.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(VAR_DIR / "clinicdesk.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA mmap_size=268435456;"
                ),
            },
            "TEST": {"NAME": env("SQLITE_TEST_PATH", str(VAR_DIR / "test.sqlite3"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work: the database-backed queue (worker runs beside the web server in `make run`),
# or Redis through RQ when REDIS_URL is set so that workers on several machines share one queue.
if REDIS_URL:
    # clinicdesk's adapter, not django_tasks_rq.RQBackend: see clinicdesk/core/task_backends.py for why.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    RQ = {"JOB_CLASS": "clinicdesk.core.task_backends.RQJob"}
    TASKS = {"default": {"BACKEND": "clinicdesk.core.task_backends.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
if env("TASKS_BACKEND") == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_ADAPTER = "clinicdesk.core.accounts.ClinicAccountAdapter"
ACCOUNT_FORMS = {"login": "clinicdesk.core.accounts.ClinicLoginForm"}
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("LOGIN_FAILED_RATE", "5/5m/ip,5/5m/key"),
    "login": "30/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "clinicdesk.core.accounts.ClinicMFAAdapter"
# Behind the reverse proxy every request comes from the proxy: count it so that sign-in throttling
# (and the audit trail) see the client's own address, never one the client wrote into X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "1" if PRODUCTION else "0"))
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", "clinicdesk")
USERSESSIONS_TRACK_ACTIVITY = True

# Sessions: an idle timeout (per organization, this is the default) and an absolute lifetime.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=int(env("SESSION_IDLE_MINUTES", "15")))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(env("SESSION_MAX_HOURS", "12")))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "clinicdesk.core.views.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds every subdomain of the practice's domain to HTTPS for months, so it is the
        # operator's choice (SECURE_HSTS_PRELOAD=1); without it `check --deploy` would always warn.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# E-mail: console in development; SMTP from the environment in production.
MAILERS = {
    "default": {
        "BACKEND": env(
            "EMAIL_BACKEND",
            "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
        ),
    }
}
if MAILERS["default"]["BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env("EMAIL_HOST", "localhost"),
        "port": int(env("EMAIL_PORT", "25")),
        "username": env("EMAIL_HOST_USER", ""),
        "password": env("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": 30,
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "clinicdesk <no-reply@localhost>")

# Public online booking: how often one client address, and one e-mail address, may send a booking request
# ("<count>/<s|m|h|d>"; the other limits are in clinicdesk/scheduling/throttle.py). Counted in the cache, so
# several web processes share the count only with Redis (REDIS_URL).
ONLINE_BOOKING_RATE_LIMITS = {
    "request_ip": env("ONLINE_BOOKING_RATE_IP", "10/h"),
    "request_email": env("ONLINE_BOOKING_RATE_EMAIL", "5/h"),
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "America/New_York")

# No message leaves between these local times of the location (start, end; over midnight when start > end).
COMMUNICATIONS_QUIET_HOURS = (env("QUIET_HOURS_START", "21:00"), env("QUIET_HOURS_END", "08:00"))

# --- Communications: delivery of e-mail and text messages (the delivery part owns this block) ---
# Where patients and the SMS provider reach this server: links in messages and the provider's callbacks.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The local SMS gateway speaks the hosted provider's HTTP API (send, delivery receipts, replies) under
# /sms-gateway/, so the embedded setup, the demo and the tests send real HTTP without leaving the machine.
SMS_LOCAL_GATEWAY = env_bool("SMS_LOCAL_GATEWAY", not PRODUCTION)
# Insurance: the clearinghouse adapter (270/271, 837P with 999 and 277CA, 835) and the local one's state folder.
CLEARINGHOUSE_ADAPTER = env("CLEARINGHOUSE_ADAPTER", "clinicdesk.insurance.clearinghouse.local.LocalClearinghouse")
CLEARINGHOUSE_LOCAL_DIR = env("CLEARINGHOUSE_LOCAL_DIR", str(VAR_DIR / "clearinghouse"))
SMS_PROVIDER = env("SMS_PROVIDER", "twilio")  # the adapter: Twilio's Programmable Messaging REST API
SMS_API_BASE_URL = env(
    "SMS_API_BASE_URL", f"{PUBLIC_BASE_URL}/sms-gateway" if SMS_LOCAL_GATEWAY else "https://api.twilio.com"
).rstrip("/")
SMS_ACCOUNT_SID = env("SMS_ACCOUNT_SID", "" if PRODUCTION else "AC00000000000000000000000000000000")
SMS_AUTH_TOKEN = env("SMS_AUTH_TOKEN", "" if PRODUCTION else "local-gateway-auth-token")
SMS_FROM_NUMBER = env("SMS_FROM_NUMBER", "" if PRODUCTION else "+15005550006")
SMS_TIMEOUT_SECONDS = float(env("SMS_TIMEOUT_SECONDS", "10"))
# A worker holds a message this long while it sends; past it, a sweep hands the message to another worker
# (same idempotency key). Keep it well above SMS_TIMEOUT_SECONDS.
MESSAGE_SEND_LEASE_SECONDS = int(env("MESSAGE_SEND_LEASE_SECONDS", "120"))
# Messages one send task claims at once, and how many of them it sends at a time (the calls wait on the network).
# Keep a batch well inside the lease: BATCH / CONCURRENCY x SMS_TIMEOUT_SECONDS (50 / 8 -> 7 rounds x 10 s = 70 s
# at worst) under MESSAGE_SEND_LEASE_SECONDS (120); past the lease the rest of a batch goes back untried.
MESSAGE_SEND_BATCH = int(env("MESSAGE_SEND_BATCH", "50"))
MESSAGE_SEND_CONCURRENCY = int(env("MESSAGE_SEND_CONCURRENCY", "8"))
# The local gateway posts delivery receipts from background threads (off in tests, which post them themselves):
# a pool of SMS_GATEWAY_RECEIPT_THREADS per process, each writing the waiting receipts' statuses at once.
SMS_GATEWAY_RECEIPTS = env_bool("SMS_GATEWAY_RECEIPTS", not TESTING)
SMS_GATEWAY_RECEIPT_THREADS = int(env("SMS_GATEWAY_RECEIPT_THREADS", "4"))
# How long the gateway holds a send to its "stall" test numbers (+1500555020x) before answering.
SMS_GATEWAY_STALL_SECONDS = float(env("SMS_GATEWAY_STALL_SECONDS", "30"))
# E-mail bounces and complaints arrive as Mailgun-style event webhooks signed with this key (empty: refused).
EMAIL_WEBHOOK_SIGNING_KEY = env("EMAIL_WEBHOOK_SIGNING_KEY", "" if PRODUCTION else "local-email-webhook-key")

# --- Billing: card payments (the card processor part owns this block) ---
# The local card processor speaks the hosted processor's API (a subset of Stripe's v1 PaymentIntents API, test
# cards, signed webhooks) under /card-processor/, so the embedded setup, the demo and the tests take cards
# without leaving the machine. In production point CARD_PROCESSOR_BASE_URL at https://api.stripe.com.
CARD_LOCAL_PROCESSOR = env_bool("CARD_LOCAL_PROCESSOR", not PRODUCTION)
CARD_PROCESSOR_BASE_URL = env(
    "CARD_PROCESSOR_BASE_URL", f"{PUBLIC_BASE_URL}/card-processor" if CARD_LOCAL_PROCESSOR else "https://api.stripe.com"
).rstrip("/")
CARD_PROCESSOR_SECRET_KEY = env("CARD_PROCESSOR_SECRET_KEY", "" if PRODUCTION else "sk_test_local_processor_key")
# Checks the Stripe-Signature of the processor's webhooks at /webhooks/cards/ (empty: every event is refused).
CARD_WEBHOOK_SECRET = env("CARD_WEBHOOK_SECRET", "" if PRODUCTION else "whsec_local_processor_webhook_secret")
CARD_PROCESSOR_TIMEOUT_SECONDS = float(env("CARD_PROCESSOR_TIMEOUT_SECONDS", "20"))
# The local processor posts webhooks from a background thread (off in tests, which post them inline), and tries
# an unacknowledged event again after 1, 2, 4 ... minutes, this many times in all.
CARD_PROCESSOR_WEBHOOK_THREAD = env_bool("CARD_PROCESSOR_WEBHOOK_THREAD", not TESTING)
CARD_PROCESSOR_WEBHOOK_ATTEMPTS = int(env("CARD_PROCESSOR_WEBHOOK_ATTEMPTS", "8"))
# The local processor's fee per captured charge: a percentage plus a fixed part (Decimal strings).
CARD_PROCESSOR_FEE_PERCENT = env("CARD_PROCESSOR_FEE_PERCENT", "2.9")
CARD_PROCESSOR_FEE_FIXED = env("CARD_PROCESSOR_FEE_FIXED", "0.30")

# --- Billing: code sets ---
# Each web process builds the ICD-10-CM search index in the background as it starts (seconds of one core), so
# the first person who codes a visit does not wait; off in tests and benchmarks, which build it when they need it.
ICD10_WARM_AT_START = env_bool("ICD10_WARM_AT_START", not TESTING)

USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "clinicdesk" / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env("MEDIA_ROOT", str(VAR_DIR / "media")), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
# Patient documents: never under a public path, always served by a permission-checked view.
DOCUMENT_MAX_BYTES = int(env("DOCUMENT_MAX_MB", "20")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = DOCUMENT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# `manage.py backup` and `restore`: the secret the backup file's key is derived from (or pass --key-file). Keep a
# copy away from the backups: without it no backup can be restored.
BACKUP_KEY = env("BACKUP_KEY", "")

AUDITLOG_INCLUDE_ALL_MODELS = False
# django-auditlog detects changes; they are stored once, in the hash-chained audit trail (core.ChangeRecord).
AUDITLOG_LOGENTRY_MODEL = "core.ChangeRecord"
AUDITLOG_DISABLE_REMOTE_ADDR = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "django.db.backends": {"level": "WARNING"}},
}

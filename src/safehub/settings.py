"""One settings module, read from the environment.

Every value comes from an environment variable with a typed parser that refuses bad values.
`DEBUG` is off unless asked for; there is no secret default outside the demo and the tests.
"""

import base64
import binascii
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("SAFEHUB_HOME", Path.cwd()))
VAR_DIR = PROJECT_DIR / "var"


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use true or false")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# pytest sets PYTEST_VERSION for the run (and the processes it starts); nothing else does.
TESTING = "PYTEST_VERSION" in os.environ
DEBUG = env_bool("SAFEHUB_DEBUG")
DEMO = env_bool("SAFEHUB_DEMO")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEMO:
        # The demonstration hub makes its own key once and keeps it beside its database.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file = VAR_DIR / "demo-secret-key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        SECRET_KEY = key_file.read_text().strip()
    elif TESTING:
        # A fresh key per test process: nothing signed in a test outlives it.
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "`make demo` sets one for the demonstration hub."
        )


def env_fernet_keys(name: str) -> list[str]:
    keys = env_list(name, [])
    for number, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, UnicodeEncodeError, ValueError):
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                f"{name}: key {number} of {len(keys)} is not a Fernet key "
                "(`safehub keys generate` makes one)"
            )
    return keys


# Keys that encrypt the most dangerous fields at rest (safehub.core.crypto): the first encrypts,
# all decrypt. Rotate: the new key first in every process, `safehub keys rotate`, then drop the
# old one. The web server, the worker and `migrate` must share them.
SAFEHUB_FIELD_KEYS = env_fernet_keys("SAFEHUB_FIELD_KEYS")
if not SAFEHUB_FIELD_KEYS:
    if DEMO:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        field_key_file = VAR_DIR / "demo-field-keys"
        if not field_key_file.exists():
            fd = os.open(field_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
        SAFEHUB_FIELD_KEYS = field_key_file.read_text().split()
    elif TESTING:
        # Left empty: safehub.core.crypto derives one from SECRET_KEY, so a test's server and
        # worker subprocesses (given one SECRET_KEY) read what each other wrote.
        pass
    else:
        raise ImproperlyConfigured(
            "SAFEHUB_FIELD_KEYS is not set. Set it to a key from `safehub keys generate` "
            "(several, comma-separated, while rotating: the current one first); "
            "`make demo` makes one for the demonstration hub."
        )


# Where people reach safehub, for links in e-mails.
SAFEHUB_BASE_URL = os.environ.get("SAFEHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SAFEHUB_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"SAFEHUB_BASE_URL={SAFEHUB_BASE_URL!r} must start with https://")

ALLOWED_HOSTS = env_list("SAFEHUB_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("SAFEHUB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "safehub.core",
    "safehub.accounts",
    "safehub.timescales",
    "safehub.risk",
    "safehub.audit",
    "safehub.intake",
    "safehub.people",
    "safehub.referrals",
    "safehub.meetings",
    "safehub.sharing",
    "safehub.casework",
    "safehub.returns",
    "safehub.encompass",
    "safehub.reports",
    "safehub.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safehub.core.middleware.RequestIdMiddleware",
    "safehub.core.ratelimit.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "safehub.accounts.middleware.SessionLimitsMiddleware",
    "safehub.core.ratelimit.PageRateLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "safehub.core.middleware.NoStoreMiddleware",
    # Fail closed: a page the access matrix (safehub.core.access) does not declare is not served.
    "safehub.core.middleware.AccessDeclaredMiddleware",
]

ROOT_URLCONF = "safehub.urls"
WSGI_APPLICATION = "safehub.wsgi.application"

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
                "safehub.web.context_processors.safehub",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default lives in ./var/
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'safehub.sqlite3'}",
        conn_max_age=env_int("SAFEHUB_DB_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("SAFEHUB_DB_HEALTH_CHECKS"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web server share the file; IMMEDIATE avoids
    # "database is locked" on upgrade from a read to a write lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiles the dashboard's aggregates for 0.3-0.5 s each and saves less than that: off.
    # (Options already in DATABASE_URL, e.g. ?options=..., come after and win.)
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = " ".join(["-c jit=off", options.get("options", "")]).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "referrals:queue"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A local copy of Have I Been Pwned's SHA-1 list (this service makes no call to the internet):
# a directory of range files named by the hash's first five hex digits (ABCDE.txt holding
# "SUFFIX:COUNT" lines, as the range API and haveibeenpwned-downloader write them), or one file
# of "SHA1:COUNT" lines sorted by hash. Empty: no breach check.
SAFEHUB_BREACHED_PASSWORDS_FILE = os.environ.get("SAFEHUB_BREACHED_PASSWORDS_FILE", "").strip()
if SAFEHUB_BREACHED_PASSWORDS_FILE:
    if not Path(SAFEHUB_BREACHED_PASSWORDS_FILE).exists():
        raise ImproperlyConfigured(
            f"SAFEHUB_BREACHED_PASSWORDS_FILE={SAFEHUB_BREACHED_PASSWORDS_FILE!r} does not exist"
        )
    AUTH_PASSWORD_VALIDATORS.append(
        {"NAME": "safehub.accounts.passwords.BreachedPasswordValidator"}
    )
# Argon2 first; the others stay so that older hashes still check, and Django rewrites each with
# Argon2 at its owner's next sign-in.
PRODUCTION_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Tests hash with MD5 for speed; one test checks that the production list makes Argon2 hashes.
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"] if TESTING else PRODUCTION_PASSWORD_HASHERS
)

# Sign-in lockout, by username *and* address together (never by username alone, or anyone could
# lock a colleague out): this many failures within the window lock that pair for the lockout.
SAFEHUB_SIGNIN_MAX_FAILURES = env_int("SAFEHUB_SIGNIN_MAX_FAILURES", 5, minimum=1)
SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES = env_int(
    "SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES", 15, minimum=1
)
SAFEHUB_SIGNIN_LOCKOUT_MINUTES = env_int("SAFEHUB_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1)

# Two-factor sign-in (safehub.accounts.twofactor): after the password, a code from an authenticator
# app (TOTP), or a single-use recovery code. Off only in the demonstration hub, which says so.
SAFEHUB_TWO_FACTOR = env_bool("SAFEHUB_TWO_FACTOR", default=not DEMO)
if not SAFEHUB_TWO_FACTOR and not (DEMO or TESTING):
    raise ImproperlyConfigured(
        "SAFEHUB_TWO_FACTOR=false is for the demonstration hub only (SAFEHUB_DEMO=true): "
        "every person who signs in to a real hub needs a second factor"
    )
# How long the code step waits after a right password before the person must start again.
SAFEHUB_TWO_FACTOR_PENDING_MINUTES = env_int("SAFEHUB_TWO_FACTOR_PENDING_MINUTES", 5, minimum=1)
OTP_TOTP_ISSUER = "safehub"  # the name authenticator apps show beside the username
# The admin lists people's devices but never shows a secret key, a QR code or a recovery code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# A session ends after this long without a request, and this long after sign-in whatever happens.
SAFEHUB_SESSION_IDLE_MINUTES = env_int("SAFEHUB_SESSION_IDLE_MINUTES", 30, minimum=1)
SAFEHUB_SESSION_MAX_HOURS = env_int("SAFEHUB_SESSION_MAX_HOURS", 12, minimum=1)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("SAFEHUB_STATIC_ROOT", PROJECT_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("SAFEHUB_MANIFEST_STATIC", default=not (DEBUG or TESTING or DEMO))
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING or DEMO

# How long each process keeps postcode routing and schools in memory; 0: ask the database each time.
SAFEHUB_REFERENCE_CACHE_SECONDS = env_int(
    "SAFEHUB_REFERENCE_CACHE_SECONDS", 0 if TESTING else 30, minimum=0
)

# The notification contract: more than 1 MiB is refused with 413.
NOTIFICATION_MAX_BYTES = 1024 * 1024  # as safehub.intake.validation.MAX_BYTES

# Rate limits against bulk extraction (safehub.core.ratelimit), per integration client or
# signed-in person, shared by every web process through the database; 0 turns one off.
# Writes: a force's backlog after an outage at 100/s gets through; reads: reading back is
# occasional, walking the records is extraction.
SAFEHUB_API_WRITES_PER_SECOND = env_int("SAFEHUB_API_WRITES_PER_SECOND", 200)
SAFEHUB_API_WRITES_PER_HOUR = env_int("SAFEHUB_API_WRITES_PER_HOUR", 20_000)
SAFEHUB_API_READS_PER_MINUTE = env_int("SAFEHUB_API_READS_PER_MINUTE", 120)
# Pages showing a person's record, counted together per person.
SAFEHUB_PAGE_VIEWS_PER_MINUTE = env_int("SAFEHUB_PAGE_VIEWS_PER_MINUTE", 60)
SAFEHUB_PAGE_RATE_LIMITED = [
    "referrals:contact_detail",
    "encompass:notice_detail",
    "risk:referral_detail",
]
# Any body declared larger is refused with 413 before it is read (multipart files included,
# which DATA_UPLOAD_MAX_MEMORY_SIZE does not count). Above NOTIFICATION_MAX_BYTES.
SAFEHUB_MAX_REQUEST_BYTES = env_int(
    "SAFEHUB_MAX_REQUEST_BYTES", 2 * NOTIFICATION_MAX_BYTES, minimum=NOTIFICATION_MAX_BYTES
)
DATA_UPLOAD_MAX_MEMORY_SIZE = NOTIFICATION_MAX_BYTES

TASKS = {
    "default": {
        "BACKEND": os.environ.get("SAFEHUB_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "SAFEHUB_MAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
        ),
        "OPTIONS": {
            "host": os.environ.get("SAFEHUB_SMTP_HOST", "127.0.0.1"),
            "port": env_int("SAFEHUB_SMTP_PORT", 1025, minimum=1),
            "username": os.environ.get("SAFEHUB_SMTP_USER", ""),
            "password": os.environ.get("SAFEHUB_SMTP_PASSWORD", ""),
            "use_tls": env_bool("SAFEHUB_SMTP_STARTTLS"),
            "timeout": 10,
        },
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("SAFEHUB_FROM_EMAIL", "safehub@hub.example")
OUTBOX_MAX_ATTEMPTS = env_int("SAFEHUB_OUTBOX_MAX_ATTEMPTS", 12, minimum=1)
# What the worker runs every minute, in this order (each safe to run at any time).
SAFEHUB_SWEEPS = [
    "safehub.core.outbox.outbox_deliver_due",
    "safehub.encompass.services.encompass_sweep",
    "safehub.timescales.clocks.clocks_sweep",
    "safehub.meetings.services.meetings_sweep",
    "safehub.referrals.escalation.escalations_sweep",
    "safehub.audit.chain.audit_seal",
    "safehub.accounts.sessions.sessions_clear_expired",
    # At most once a day: it looks at when it last ran.
    "safehub.core.retention.retention_run",
    # The national dashboard's daily summary: each closed day once a day, a few seconds a time.
    "safehub.reports.rollup.rollup_sweep",
]
# Retention (safehub.core.retention, docs/retention.md): a rule's age over its default, e.g.
# {"contact_no_referral": {"years": 7}}. An age given replaces the default age whole.
SAFEHUB_RETENTION: dict[str, dict[str, int]] = {}
# Strategy discussions (safehub.meetings). The roles a discussion cannot be held without
# (Working Together: children's social care, police and health "as a minimum", statutory.md §1.2).
SAFEHUB_STRATEGY_REQUIRED_ROLES = env_list(
    "SAFEHUB_STRATEGY_REQUIRED_ROLES", ["children_social_care", "police", "health"]
)
# Partners' answers are due this many minutes before the discussion starts; a request still
# open this many minutes before its deadline is chased once by e-mail (the chair may chase too).
SAFEHUB_REQUEST_LEAD_MINUTES = env_int("SAFEHUB_REQUEST_LEAD_MINUTES", 60, minimum=0)
SAFEHUB_REQUEST_CHASE_MINUTES = env_int("SAFEHUB_REQUEST_CHASE_MINUTES", 120, minimum=0)
# The ICPC's 15 working days count from the discussion that started the section 47 enquiry
# ("initiating", as the DfE census does) or from the latest one that decided on one ("last",
# as some local procedures say). statutory.md §1.1 T4.
SAFEHUB_ICPC_ANCHOR = os.environ.get("SAFEHUB_ICPC_ANCHOR", "initiating")
if SAFEHUB_ICPC_ANCHOR not in ("initiating", "last"):
    raise ImproperlyConfigured(
        f"SAFEHUB_ICPC_ANCHOR={SAFEHUB_ICPC_ANCHOR!r}: expected 'initiating' or 'last'"
    )
# The minutes' PDF uses DejaVu Sans from here when present (Debian: fonts-dejavu-core), so that
# every name prints as written; without it, the PDF's core font folds accents away.
SAFEHUB_PDF_FONT_DIR = os.environ.get("SAFEHUB_PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
# Break-glass (safehub.referrals.break_glass): how long a worker may read another council's contact.
SAFEHUB_BREAK_GLASS_HOURS = env_int("SAFEHUB_BREAK_GLASS_HOURS", 4, minimum=1)
# The audit sealer leaves events this long to commit before chaining them; verify fails an event
# not chained this long after its time.
AUDIT_SEAL_SETTLE_SECONDS = env_int("SAFEHUB_AUDIT_SETTLE_SECONDS", 10, minimum=0)
AUDIT_MAX_LAG_SECONDS = env_int("SAFEHUB_AUDIT_MAX_LAG_SECONDS", 3600, minimum=60)


def env_probability(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a probability between 0 and 1")
    return value


# The dashboard's figures computed this many at a time, each on its own database connection
# (PostgreSQL only; 1 computes them one after another).
SAFEHUB_REPORTS_THREADS = env_int("SAFEHUB_REPORTS_THREADS", 2, minimum=1)

# The person index (safehub.people, docs/linkage.md). A new record joins the best person at or
# above the auto-link band; between the bands it becomes a new person and a clerical review is
# opened against the candidate; below, it is a new person.
SAFEHUB_LINKAGE_AUTO_LINK = env_probability("SAFEHUB_LINKAGE_AUTO_LINK", 0.99)
SAFEHUB_LINKAGE_REVIEW = env_probability("SAFEHUB_LINKAGE_REVIEW", 0.80)
if SAFEHUB_LINKAGE_REVIEW > SAFEHUB_LINKAGE_AUTO_LINK:
    raise ImproperlyConfigured("SAFEHUB_LINKAGE_REVIEW must not be above SAFEHUB_LINKAGE_AUTO_LINK")
# The key of the keyed hashes (HMAC-SHA256) that stand in the index for an address line, an NHS
# number and a UPN. Unset, it is derived from the first field key: set it in production, so that
# rotating the field keys leaves it alone. Changing it needs `safehub linkage run` (which rehashes).
SAFEHUB_LINKAGE_KEY = os.environ.get("SAFEHUB_LINKAGE_KEY", "")
# At most this many of the index's records are scored against one new record (the ones sharing
# the most blocking keys first), so that a postcode of a thousand flats cannot slow intake.
SAFEHUB_LINKAGE_MAX_CANDIDATES = env_int("SAFEHUB_LINKAGE_MAX_CANDIDATES", 200, minimum=1)
# The memory DuckDB may use for `safehub linkage run`'s predict and clusters (it spills the rest
# to a temporary folder): the process stays within about this plus the index read into memory.
SAFEHUB_LINKAGE_RUN_MEMORY_MB = env_int("SAFEHUB_LINKAGE_RUN_MEMORY_MB", 1500, minimum=100)
# A broad blocking rule (a date of birth alone, a postcode alone, a name pair alone...) finds
# candidates only where at most this many of the index's records share the value; larger blocks
# are left to the narrow rules (people/model.py BLOCKING_KEYS and BROAD_KEYS), the same in real
# time and in `safehub linkage run`.
SAFEHUB_LINKAGE_BLOCK_CAP = env_int("SAFEHUB_LINKAGE_BLOCK_CAP", 30, minimum=1)
# When a new notification's people are linked to the index: "worker" (the default) by the
# worker's people_index_sweep seconds after intake, which then re-rates the contacts upward if the
# index shows more than intake saw (docs/linkage.md, "At intake"), so that intake does not wait
# for matching; "inline" in intake's own transaction. Amendments and manual contacts are linked
# in their own transaction either way (rare, and a person is waiting).
SAFEHUB_LINKAGE_AT_INTAKE = os.environ.get("SAFEHUB_LINKAGE_AT_INTAKE", "worker").strip().lower()
if SAFEHUB_LINKAGE_AT_INTAKE not in ("worker", "inline"):
    raise ImproperlyConfigured(
        f"SAFEHUB_LINKAGE_AT_INTAKE={SAFEHUB_LINKAGE_AT_INTAKE!r} must be worker or inline"
    )
# The worker's index sweep: every this many seconds, at most this many notifications a batch.
SAFEHUB_LINKAGE_SWEEP_SECONDS = env_int("SAFEHUB_LINKAGE_SWEEP_SECONDS", 5, minimum=1)
SAFEHUB_LINKAGE_SWEEP_BATCH = env_int("SAFEHUB_LINKAGE_SWEEP_BATCH", 200, minimum=1)
OUTBOX_RETRY_BASE_SECONDS = env_int("SAFEHUB_OUTBOX_RETRY_BASE_SECONDS", 30, minimum=0)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The server-side limits are SessionLimitsMiddleware's; the cookie and the stored session never
# outlive the absolute one.
SESSION_COOKIE_AGE = SAFEHUB_SESSION_MAX_HOURS * 60 * 60
SESSION_COOKIE_SECURE = not (DEBUG or TESTING or DEMO)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SAFEHUB_SSL_REDIRECT", default=not (DEBUG or TESTING or DEMO))
SECURE_HSTS_SECONDS = env_int("SAFEHUB_HSTS_SECONDS", 0 if (DEBUG or TESTING or DEMO) else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SAFEHUB_HSTS_PRELOAD", default=not (DEBUG or TESTING or DEMO))
# Only behind a proxy that sets X-Forwarded-Proto and X-Forwarded-For itself (replacing what the
# client sent): anyone could send the headers otherwise. The sign-in lockout then takes the client's
# address from the first X-Forwarded-For hop.
SAFEHUB_BEHIND_PROXY = env_bool("SAFEHUB_BEHIND_PROXY")
if SAFEHUB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SAFEHUB_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG it logs whole template contexts: a notification's every person.
        "django.template": {"level": "INFO"},
    },
}

"""Django settings for SafeStep, all taken from the environment (see config.py)."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

from safestep import config

CONFIG = config.load()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = CONFIG.data_dir
SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "axes",
    "csp",
    "safestep.core",
    "safestep.accounts",
    "safestep.definitions",
    "safestep.audit",
    "safestep.cases",
    "safestep.api",
    "safestep.web",
    "safestep.attachments",
    "safestep.reports",
    "safestep.notify",
    "safestep.ops",
]

MIDDLEWARE = [
    # First: forwarded headers are believed only from SAFESTEP_TRUSTED_PROXIES, and removed
    # from anyone else's request before anything reads them.
    "safestep.core.proxies.TrustedProxyMiddleware",
    # Every error under /api/ leaves as problem+json, whoever answered it.
    "safestep.core.problems.ApiProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "safestep.accounts.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "safestep.core.context.RequestContextMiddleware",
    # Audited reads (a case, its PDF, the trail) only from SafeStep's own pages: another
    # site cannot make a signed-in browser write reads into the audit trail.
    "safestep.core.same_origin.SameOriginReadMiddleware",
    # An unreachable database answers 503 with problem+json (API) or a short page.
    "safestep.core.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the browser's Accept-Language (after sessions, before CommonMiddleware,
    # as Django asks); UserLanguageMiddleware below puts a signed-in person's choice first.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "safestep.core.language.UserLanguageMiddleware",
    # A NUL in a query or a form is refused (400) in the reader's language, before any view.
    "safestep.core.nul_characters.NulInRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "safestep.audit.middleware.AccessDenialAuditMiddleware",
    "safestep.accounts.middleware.SessionGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# Views whose GET writes a read to the audit trail, by URL name: the same-origin guard above
# (safestep.core.same_origin) refuses them when another site started the request.
AUDITED_READS = [
    "web:case",
    "web:case-protocol",
    "web:case-attachment",
    "web:search",
    "web:student",
    "api:case",
    "api:timeline",
    "api:attachments",
    "api:attachment",
    "api:case-scar",
    "api:concern-scar",
    "web:case-scar",
    "web:concern-scar",
    "api:stats-csv",
    "api:audit",
    "api:student-disclosures",
    "audit:trail",
]

ROOT_URLCONF = "safestep.urls"
# Development only: the benchmark (`safestep bench`, `safestep seed-bench`, the floor page)
# lives in src/safestep_bench, in a source checkout and never in a built wheel. It is an
# app only when SAFESTEP_BENCH is on and it can be imported; then the URL configuration is
# SafeStep's own plus the floor's, and the server also answers the bare Django view the
# floor is compared with (safestep_bench.wsgi). An installed SafeStep has none of these.
BENCH_APP = "safestep_bench"
WSGI_APPLICATION = "safestep.wsgi.application"
if CONFIG.bench and importlib.util.find_spec(BENCH_APP) is not None:
    INSTALLED_APPS.append(BENCH_APP)
    ROOT_URLCONF = "safestep_bench.root_urls"
    WSGI_APPLICATION = "safestep_bench.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:signin"
# django-axes checks every password sign-in first and refuses while it is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
# The languages of the pages (docs/web.md, "Languages"). URLs carry no language prefix; the
# Spanish catalogues sit in each app's locale/ folder and are shipped compiled.
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = None
# Static files are served straight from the installed package: no collectstatic step
# between installing SafeStep and running it.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = CONFIG.email.backend
if CONFIG.email.file_path is not None:
    EMAIL_FILE_PATH = str(CONFIG.email.file_path)
EMAIL_HOST = CONFIG.email.host
EMAIL_PORT = CONFIG.email.port
EMAIL_HOST_USER = CONFIG.email.user
EMAIL_HOST_PASSWORD = CONFIG.email.password
EMAIL_USE_TLS = CONFIG.email.use_tls
EMAIL_USE_SSL = CONFIG.email.use_ssl
DEFAULT_FROM_EMAIL = CONFIG.email.default_from

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# SAFESTEP_HTTPS (on unless debug): the site is served over HTTPS, so cookies are Secure.
SESSION_COOKIE_SECURE = CONFIG.https
CSRF_COOKIE_SECURE = CONFIG.https
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sent on every response when served over HTTPS (SecurityHeadersMiddleware), not only on
# requests Django itself sees as HTTPS: behind a TLS proxy the browser still gets it, and
# browsers ignore it on a plain-HTTP page.
SECURE_HSTS_SECONDS = 31_536_000 if CONFIG.https else 0
# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (core/proxies.py). Only
# then does Django read the scheme from X-Forwarded-Proto; from anyone else it is removed.
TRUSTED_PROXIES = CONFIG.trusted_proxies
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = list(CONFIG.csrf_trusted_origins)
# A form refused for a stale CSRF token (signed in again elsewhere) is kept as a draft and
# not acted on; any other refusal is Django's own 403 (accounts/drafts.py).
CSRF_FAILURE_VIEW = "safestep.accounts.views.csrf_failure"
# Non-file request bodies: Django's limit for forms, and the API's JSON parser's (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# A session ends after this long without a request (SessionGuardMiddleware says why). The
# stored session lives a little longer so the guard, not a silent expiry, ends it.
SESSION_IDLE_SECONDS = CONFIG.session_idle_minutes * 60
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + 300
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Strict: only SafeStep's own files, no inline script or style, no framing. The API
# documentation page relaxes styles and images for Swagger UI (see api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Lockout: five failed sign-ins (passwords or second-factor codes) for one username from
# one address lock that pair out for 15 minutes. Other people at the same school (one
# address behind a NAT) keep signing in.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "safestep.accounts.views.locked_out"
# The address the connection came from, as the audit log records it: the client's own
# address when the request came through a proxy in SAFESTEP_TRUSTED_PROXIES, otherwise
# the connecting address (forwarded headers from anyone else are dropped).
AXES_CLIENT_IP_CALLABLE = "safestep.accounts.views.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Second factor: TOTP apps show "SafeStep" as the issuer.
OTP_TOTP_ISSUER = "SafeStep"
# Passkeys (django-otp-webauthn, accounts/passkeys.py) are a second factor beside the
# authenticator app, never a way in without the password. They are bound to one host name
# (SAFESTEP_PASSKEY_RP_ID); a browser offers them only on that host and its subdomains.
OTP_WEBAUTHN_RP_ID = CONFIG.passkey_rp_id
OTP_WEBAUTHN_RP_NAME = "SafeStep"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# The origins a ceremony may come from: this one, and the page's own origin (with its port)
# when it is served on that host (passkeys.PasskeyHelper).
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"https://{CONFIG.passkey_rp_id}"]
OTP_WEBAUTHN_HELPER_CLASS = "safestep.accounts.passkeys.PasskeyHelper"

# Single sign-on through the district's identity provider (accounts/oidc.py); None when
# SAFESTEP_OIDC_ISSUER is unset. Without password sign-in it is the only way in.
SAFESTEP_OIDC = CONFIG.oidc
SAFESTEP_PASSWORD_SIGNIN = CONFIG.password_signin

# Encryption at rest (core/crypto.py): the first key encrypts, every listed key decrypts.
ENCRYPTION_KEYS = CONFIG.encryption_keys
ENCRYPTION_KEYS_FILE = CONFIG.encryption_keys_file

# Attachments are stored encrypted on local disk.
ATTACHMENTS_DIR = DATA_DIR / "attachments"
MAX_UPLOAD_BYTES = CONFIG.max_upload_mb * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "safestep.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every view states what it needs; anything it forgets is closed.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Bounded in size (413) and nesting (400): no body can make the parser fail with a 500.
    "DEFAULT_PARSER_CLASSES": ["safestep.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "safestep.api.errors.problem_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SafeStep API",
    "DESCRIPTION": "Case management for school CSEC reporting protocols.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from the installed package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

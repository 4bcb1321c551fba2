"""Settings of the example project: a DOT authorization server with django_agent_obo, and a demo API.

Environment: OBO_ISSUER (default http://127.0.0.1:8000), DATABASE_URL (default: SQLite in
var/), DJANGO_SECRET_KEY, DJANGO_DEBUG.
"""

import os
from pathlib import Path

import dj_database_url
from django.conf import global_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OBO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file and the demo key ring live here

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-for-production")
# Off unless asked for (DJANGO_DEBUG=1): a debug 500 page shows a traceback and settings.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", *os.environ.get("DJANGO_ALLOWED_HOSTS", "").split()]

OBO_ISSUER = os.environ.get("OBO_ISSUER", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "django_agent_obo",
    "example_project.calendar_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files under gunicorn (docs/deployment.md)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_sqlite = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _sqlite, conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions: a writer takes the lock up front, so concurrent token
    # requests queue instead of failing to upgrade a read lock.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}

# One cache for every worker (rate limits, revocation and key caches hold across processes):
# Django's database cache, its table created by a migration (calendar_api 0002). Production: Redis
# (docs/deployment.md).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "agent_obo_cache"}
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # `manage.py collectstatic` puts the files here for WhiteNoise
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # the example also serves them straight from the apps, before collectstatic
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/agents/"
# Users' passwords keep Django's slow hashers; client secrets (long random strings made by DOT
# and create_agent) get one salted HMAC-SHA256 (docs/client-authentication.md).
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "django_agent_obo.client_secrets.ClientSecretHasher"]

# --- django-oauth-toolkit, as django_agent_obo needs it -----------------------------------
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "django_agent_obo.oauth.validator.AgentOBOValidator",
    "OAUTH2_SERVER_CLASS": "django_agent_obo.oauth.server.AgentOBOServer",
    "SCOPES": {
        "calendar.read": "Read your calendar events",
        "calendar.write": "Create events in your calendar",
        "offline_access": "Stay connected when you are away (refresh tokens)",
    },
    "DEFAULT_SCOPES": ["calendar.read"],
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_ISS_ENDPOINT": OBO_ISSUER,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": OBO_ISSUER + "/api/",
    "OAUTH2_GRANT_TYPES_SUPPORTED": [
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "CLIENT_SECRET_HASHER": "agent_obo_sha256",
    # MCP clients register themselves (RFC 7591, or a Client ID Metadata Document): open
    # registration, as they expect; such a client runs no agent until an admin or the
    # agent's `allow_any_client` allows it (docs/mcp.md).
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "CIMD_ENABLED": True,
}

AGENT_OBO = {
    "ISSUER": OBO_ISSUER,
    "DEFAULT_AUDIENCE": OBO_ISSUER + "/api/",
    "SIGNING_KEY_DIR": os.environ.get("OBO_SIGNING_KEY_DIR", str(VAR_DIR / "keys")),
    # The example creates its first key itself; production runs `rotate_signing_key`.
    "AUTO_CREATE_SIGNING_KEY": True,
    # The example API (/api/) is its own audience (DEFAULT_AUDIENCE) and refuses a revoked
    # token on the very next request.
    "RS_REVOCATION_MODE": "database",
    # Its cache is the database: rate limits count in their own rows (one statement each).
    "RATE_LIMIT_STORE": "database",
    # RFC 9396 authorization_details the example accepts (see calendar_api/details.py).
    "AUTHORIZATION_DETAILS_TYPES": {"calendar_event": "example_project.calendar_api.details.CalendarEvent"},
    # RFC 9728 path-aware metadata for both resources; /mcp/ accepts tokens whose aud names it.
    "PROTECTED_RESOURCES": {
        OBO_ISSUER + "/api/": {"scopes": ["calendar.read", "calendar.write"], "name": "Calendar API"},
        OBO_ISSUER + "/mcp/": {"scopes": ["calendar.read", "calendar.write"], "name": "Calendar MCP server"},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_agent_obo": {"handlers": ["console"], "level": os.environ.get("OBO_LOG_LEVEL", "WARNING")}
    },
}

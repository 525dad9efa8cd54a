"""
Django settings, read entirely from environment variables.

Works on Django 3.2 (Debian bookworm) and Django 4.2 LTS (requirements.txt).

Environment variables read here:

  DJANGO_SECRET_KEY            required unless DJANGO_DEBUG is true
  DJANGO_DEBUG                 "1"/"true"/"yes"/"on" -> True (default False)
  DJANGO_ALLOWED_HOSTS         comma- or space-separated (default "localhost,127.0.0.1")
  DJANGO_CSRF_TRUSTED_ORIGINS  comma-separated, passed through (default empty;
                               Django >= 4.0 requires the scheme, e.g.
                               "https://example.org")
  DJANGO_SECURE_PROXY_SSL_HEADER  true -> trust X-Forwarded-Proto: https
                               (default: on when not DEBUG)
  DJANGO_SECURE_COOKIES        true -> SESSION/CSRF cookies Secure (default False)
  DJANGO_STATIC_URL            default "/static/"
  DJANGO_STATIC_ROOT           default BASE_DIR/"staticfiles"
  DJANGO_MEDIA_URL             default "/media/"
  DJANGO_MEDIA_ROOT            default BASE_DIR/"media"
  DJANGO_STATIC_STORAGE        "plain" -> StaticFilesStorage (no manifest,
                               e.g. for tests); default: manifest storage
  DJANGO_LOG_LEVEL             root log level (default "INFO")
  POSTGRES_HOST                default "db"
  POSTGRES_PORT                default "5432"
  POSTGRES_DB                  default "app"
  POSTGRES_USER                default "app"
  POSTGRES_PASSWORD            default ""
"""
import os
import re
from pathlib import Path

import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        "%s must be one of 1/true/yes/on or 0/false/no/off, got %r" % (name, value)
    )


def env_list(name, default=""):
    """A list split on commas or white space: either is how deployments write host lists."""
    raw = os.environ.get(name, default)
    return [item for item in re.split(r"[,\s]+", raw) if item]


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "django-insecure-local-development-only-do-not-use-in-production"
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set (or set DJANGO_DEBUG=1 for local development)."
        )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Behind nginx/traefik terminating TLS: trust X-Forwarded-Proto from the proxy.
# Only safe when the proxy always sets/overwrites that header.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Applications / middleware ----------------------------------------------

try:
    import whitenoise  # noqa: F401

    HAVE_WHITENOISE = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_WHITENOISE = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sky.apps.SkyConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if HAVE_WHITENOISE:
    # Must come directly after SecurityMiddleware.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("POSTGRES_HOST", "db"),
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "NAME": os.environ.get("POSTGRES_DB", "app"),
        "USER": os.environ.get("POSTGRES_USER", "app"),
        "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
        "CONN_MAX_AGE": 60,
        # Django >= 4.1 only; ignored by 3.2.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 10},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n -------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static / media ---------------------------------------------------------

STATIC_URL = os.environ.get("DJANGO_STATIC_URL", "/static/")
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
MEDIA_URL = os.environ.get("DJANGO_MEDIA_URL", "/media/")
MEDIA_ROOT = os.environ.get("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))

if os.environ.get("DJANGO_STATIC_STORAGE", "").strip().lower() == "plain":
    _STATIC_BACKEND = "django.contrib.staticfiles.storage.StaticFilesStorage"
elif HAVE_WHITENOISE:
    # Hashed file names + manifest, and a .gz next to every compressible file.
    _STATIC_BACKEND = "whitenoise.storage.CompressedManifestStaticFilesStorage"
else:
    _STATIC_BACKEND = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"

if django.VERSION >= (4, 2):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": _STATIC_BACKEND},
    }
else:
    STATICFILES_STORAGE = _STATIC_BACKEND

# --- Logging (everything to stdout, for the container runtime) ---------------

LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
    },
}

"""An existing Django + DRF project that adopts the session app.

Everything the session app needs is in the blocks marked "session app"; the rest is the host's
own (its user model, its cookie sessions for the admin, its middleware).
"""

import os

from sessions_api.schedule import BEAT_SCHEDULE  # session app

SECRET_KEY = "host-project-test-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "corsheaders",
    "rest_framework",
    "people",
    "sessions_api",  # session app
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "hostsite.urls"
AUTH_USER_MODEL = "people.Person"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "host_project",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "TEST": {"NAME": os.environ.get("HOST_TEST_DB_NAME", "test_host_project")},
    }
}

USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions_api.authentication.SessionTokenAuthentication",  # session app, first
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "sessions_api.parsers.StrictJSONParser",  # session app
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "sessions_api.errors.exception_handler",  # session app
}

# Session app: one namespaced dict; anything left out comes from the environment names of the
# specification, then from the defaults.
SESSIONS_API = {
    "REDIS_URL": os.environ.get("HOST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "AUTH0_DOMAIN": "host.auth0.invalid",
    "AUTH0_AUDIENCE": "https://api.host.test",
}

CORS_ALLOWED_ORIGINS = ["https://app.host.test"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-match", "if-none-match"]  # session app
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]  # session app

CELERY_BROKER_URL = "memory://"
CELERY_BEAT_SCHEDULE = {
    "people-count": {"task": "people.count", "schedule": 3600},
    **BEAT_SCHEDULE,  # session app
}

"""An existing Django + DRF project that adopts the session app.

Every line the session app needs is marked "session app" (docs/embedding.md counts them); the
rest is the host's own: its user model, its cookie sessions, its middleware, its parsers.
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
    "EXCEPTION_HANDLER": "sessions_api.errors.exception_handler",  # session app
}

# Session app: one namespaced dict; anything left out comes from the environment names of the
# specification, then from the defaults.
SESSIONS_API = {  # session app
    "REDIS_URL": "redis://127.0.0.1:6379/0",  # session app
    "AUTH0_DOMAIN": "host.auth0.invalid",  # session app
    "AUTH0_AUDIENCE": "https://api.host.test",  # session app
}  # session app

CORS_ALLOWED_ORIGINS = ["https://app.host.test"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-match", "if-none-match"]  # session app
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]  # session app

CELERY_BROKER_URL = "memory://"
CELERY_BEAT_SCHEDULE = {
    "people-count": {"task": "people.count", "schedule": 3600},
    **BEAT_SCHEDULE,  # session app
}

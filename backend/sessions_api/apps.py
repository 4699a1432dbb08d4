from django.apps import AppConfig


class SessionsApiConfig(AppConfig):
    name = "sessions_api"
    label = "sessions_api"
    verbose_name = "Sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, receivers  # noqa: F401  registers the checks and receivers
        from .metrics import database_observer_connect

        database_observer_connect()

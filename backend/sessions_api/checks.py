"""Start-up checks: a production deployment without an identity provider is an error."""

from django.core.checks import Error, register

from .conf import session_settings


@register()
def identity_provider_configured(app_configs, **kwargs):
    if session_settings.DEBUG or session_settings.AUTH0_DOMAIN:
        errors = []
    else:
        errors = [
            Error(
                "AUTH0_DOMAIN is not set and DJANGO_DEBUG is off.",
                hint="Set AUTH0_DOMAIN and AUTH0_AUDIENCE (the dev identity provider only "
                "exists with DJANGO_DEBUG=1).",
                id="sessions_api.E001",
            )
        ]
    if session_settings.AUTH0_DOMAIN and not session_settings.AUTH0_AUDIENCE:
        errors.append(
            Error("AUTH0_AUDIENCE is required with AUTH0_DOMAIN.", id="sessions_api.E002")
        )
    if session_settings.STORE_FALLBACK not in {"postgres", "closed"}:
        errors.append(
            Error("SESSION_STORE_FALLBACK must be 'postgres' or 'closed'.", id="sessions_api.E003")
        )
    return errors

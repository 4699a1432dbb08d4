"""Every URL of the app. Each list is included under its own prefix by the project (and kept
at its historical path for hosts: ``sessions_api.urls``, ``.internal_urls``, ``.health``,
``.metrics_api``). Every path answers with and without its trailing slash."""

from django.urls import re_path

from . import events, health, internal_views, metrics_view, views

SESSION_ID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# Under ``api/sessions/``.
urlpatterns = [
    re_path(r"^create/?$", views.SessionCreateApi.as_view(), name="create"),
    re_path(r"^current/?$", views.SessionCurrentApi.as_view(), name="current"),
    re_path(r"^update/?$", views.SessionUpdateApi.as_view(), name="update"),
    re_path(r"^logout/?$", views.SessionLogoutApi.as_view(), name="logout"),
    re_path(r"^$", views.SessionListApi.as_view(), name="list"),
    re_path(r"^logout-all/?$", views.SessionLogoutAllApi.as_view(), name="logout-all"),
    re_path(r"^refresh/?$", views.SessionRefreshApi.as_view(), name="refresh"),
    re_path(r"^backchannel-logout/?$", views.BackchannelLogoutApi.as_view(),
            name="backchannel-logout"),
    re_path(r"^events/?$", events.session_events, name="events"),
    re_path(rf"^(?P<session_id>{SESSION_ID})/?$", views.SessionDetailApi.as_view(),
            name="detail"),
    re_path(r"", views.not_found),
]

# Under ``api/internal/``.
internal_urlpatterns = [
    re_path(r"^users/(?P<subject>[^/]{1,255})/subscription/?$",
            internal_views.SubscriptionApi.as_view(), name="subscription"),
    re_path(r"^users/(?P<subject>[^/]{1,255})/revoke-sessions/?$",
            internal_views.RevokeSessionsApi.as_view(), name="revoke-sessions"),
    re_path(r"", views.not_found),
]

# Under ``api/health/``.
health_urlpatterns = [
    re_path(r"^live/?$", health.live, name="health-live"),
    re_path(r"^ready/?$", health.ready, name="health-ready"),
]

# At the root.
metrics_urlpatterns = [re_path(r"^metrics/?$", metrics_view.metrics_view, name="metrics")]

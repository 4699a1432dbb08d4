from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from sessions_api.api.views import SessionListApi
from sessions_api.conf import session_settings

urlpatterns = [
    re_path(r"^api/sessions$", SessionListApi.as_view(schema=None)),  # the list, no slash
    path("api/sessions/", include("sessions_api.urls")),
    path("api/internal/", include("sessions_api.internal_urls")),
    path("api/health/", include("sessions_api.health")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("admin/", admin.site.urls),
    path("", include("config.example_page")),  # the example SPA, DEBUG only
    path("", include("sessions_api.metrics_api")),
]

if settings.DEBUG and session_settings.dev_identity:
    urlpatterns.append(path("dev/", include("sessions_api.identity.dev_views")))

handler404 = "sessions_api.api.views.not_found"

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from sessions_api.conf import session_settings

urlpatterns = [
    path("api/sessions/", include("sessions_api.urls")),
    path("api/health/", include("sessions_api.health")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG and session_settings.dev_identity:
    urlpatterns.append(path("dev/", include("sessions_api.identity.dev_views")))

handler404 = "sessions_api.apis.not_found"

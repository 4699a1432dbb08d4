from django.contrib import admin
from django.urls import include, path
from people.views import ProfileApi

urlpatterns = [
    path("api/sessions/", include("sessions_api.urls")),  # session app
    path("api/me/", ProfileApi.as_view()),
    path("admin/", admin.site.urls),
]

from django.urls import path

from config.urls import urlpatterns as service_urlpatterns

from . import views

urlpatterns = [
    path("bench/django/", views.bare_django),
    path("bench/drf/", views.BareDrf.as_view()),
    path("bench/host/", views.HostView.as_view()),
    path("bench/host-open/", views.HostViewOpen.as_view()),
    *service_urlpatterns,
]

handler404 = "sessions_api.api.views.not_found"

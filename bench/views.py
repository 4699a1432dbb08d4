"""Reference views the service is measured against. They exist only in the bench URLconf."""

from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def bare_django(request):
    """The framework's limit on this server: a plain Django view."""
    return JsonResponse({"ok": True})


class BareDrf(APIView):
    """DRF's own cost: no authentication, no permission."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


class HostView(APIView):
    """A host project's own view, authenticated by the project-wide default: our class."""

    def get(self, request):
        return Response({"ok": True})


class HostViewOpen(HostView):
    """The same view with no authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]

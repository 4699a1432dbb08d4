"""The peers' views, one factory per peer (``BENCH_VIEW``). Each imports what its peer needs
when called: a peer project installs only its own apps. Every view answers ``{"ok": true}``;
the authenticated ones refuse an unknown credential with 401 (the bench counts non-2xx)."""

from django.http import JsonResponse
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


def _ok(request):
    return JsonResponse({"ok": True})


def _drf(authentication_classes):
    class View(APIView):
        def get(self, request):
            return Response({"ok": True})

    View.authentication_classes = list(authentication_classes)
    View.permission_classes = [IsAuthenticated] if authentication_classes else [AllowAny]
    return View.as_view()


def django_bare():
    return _ok


def drf_bare():
    return _drf([])


def drf_cache_get():
    from django.core.cache import cache

    class CachedSession(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]

        def get(self, request):
            token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
            if cache.get(f"session:{token}") is None:
                return Response({"ok": False}, status=401)
            return Response({"ok": True})

    return CachedSession.as_view()


def cache_sessions():
    class SessionRead(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]

        def get(self, request):
            if request.session.get("user_id") is None:
                return Response({"ok": False}, status=401)
            return Response({"ok": True})

    return SessionRead.as_view()


def cache_sessions_plain():
    def view(request):
        if request.session.get("user_id") is None:
            return JsonResponse({"ok": False}, status=401)
        return JsonResponse({"ok": True})

    return view


def drf_token():
    from rest_framework.authentication import TokenAuthentication

    return _drf([TokenAuthentication])


def knox_token():
    from knox.auth import TokenAuthentication

    return _drf([TokenAuthentication])


def drf_cache_sessions():
    from rest_framework.authentication import SessionAuthentication

    return _drf([SessionAuthentication])


def host_ours():
    from sessions_api.authentication import SessionTokenAuthentication

    return _drf([SessionTokenAuthentication])

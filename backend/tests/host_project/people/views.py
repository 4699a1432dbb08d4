"""The host's own protected endpoint. It knows nothing of how a request was authenticated:
DRF hands it ``request.user`` (and, for a session of the session app, ``request.auth``)."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions_api.authentication import SessionContext


class ProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(self.profile(request))

    def patch(self, request):
        request.user.display_name = str(request.data.get("display_name", ""))[:100]
        request.user.save(update_fields=["display_name"])
        return Response(self.profile(request))

    @staticmethod
    def profile(request) -> dict:
        body = {"id": request.user.pk, "email": request.user.email,
                "display_name": request.user.display_name, "session": None}
        if isinstance(request.auth, SessionContext):
            body["session"] = {
                "id": request.auth.id,
                "tenant": request.auth.tenant,
                "needs_onboarding": request.auth.needs_onboarding,
                "subscription_plan": request.auth.subscription_plan,
            }
        return body

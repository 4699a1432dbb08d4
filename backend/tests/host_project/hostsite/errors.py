"""A host that keeps its own error shape for its own errors (used by one contract test): the
session app's errors are handed to the app's handler, everything else stays the host's."""

from rest_framework.views import exception_handler as drf_exception_handler

from sessions_api.errors import ApiError, StoreUnavailable
from sessions_api.errors import exception_handler as session_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, (ApiError, StoreUnavailable)):
        return session_exception_handler(exc, context)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"error": response.data}
    return response

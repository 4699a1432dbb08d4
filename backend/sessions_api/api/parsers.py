from rest_framework.parsers import BaseParser

from ..conf import session_settings
from ..errors import ApiError
from ..strict_json import json_loads_strict


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = session_settings.MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ApiError("payload_too_large", f"Bodies are limited to {limit} bytes.")
        return json_loads_strict(raw)

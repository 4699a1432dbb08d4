"""The strict JSON parser, at the path hosts configure; it lives in ``api/parsers.py``."""

from .api.parsers import StrictJSONParser

__all__ = ["StrictJSONParser"]

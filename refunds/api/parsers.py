"""JSON parsing that keeps money exact and refuses oversized bodies before reading them."""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """Numbers with a fraction become ``Decimal`` (never float); NaN/Infinity are refused;
    bodies over ``API_MAX_BODY_BYTES`` are refused with a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.API_MAX_BODY_BYTES
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise _too_large(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(
                raw.decode(encoding), parse_float=Decimal, parse_constant=_refuse_constant
            )
        except RecursionError as exc:
            raise exceptions.ParseError(
                "Malformed JSON: nested too deeply.", code="malformed_json"
            ) from exc
        except ArithmeticError as exc:  # decimal.InvalidOperation, e.g. 1e9999999999999999999
            raise exceptions.ParseError(
                "Malformed JSON: a number is out of range.", code="malformed_json"
            ) from exc
        except ValueError as exc:  # includes UnicodeDecodeError
            raise exceptions.ParseError(f"Malformed JSON: {exc}", code="malformed_json") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _too_large(limit: int) -> exceptions.ParseError:
    return exceptions.ParseError(f"Request body exceeds {limit} bytes.", code="body_too_large")

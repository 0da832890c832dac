"""The OpenAPI schema declares the API's errors, not only its successes.

Every error body is ``{"code", "detail", "errors"?}`` (``hitl_site.api.exception_handler``).
``ErrorResponsesAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) declares it once as the ``Error``
component and adds it to each operation for the statuses that operation can produce,
read from the operation and its view rather than listed per view:

- 401, 403: the operation needs credentials (no or unknown key; revoked or expired key,
  disabled integration);
- 429: the view is throttled;
- 400: the operation takes a body (invalid fields, unusable JSON, content type or size)
  or query filters (invalid values);
- 404: the path names a resource (unknown, or another integration's), or the list is
  paginated by cursor or page number (an invalid cursor or page);
- 409: the operation writes to a named resource, whose state may forbid it;
- 422: the operation takes an ``Idempotency-Key`` (the key reused with another body).

405 (a method the route lacks) is not an operation of the schema, so it is not declared.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.pagination import CursorPagination, PageNumberPagination

# The header the intake route reads (refunds.api.views); an operation declaring it can 422.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Messages by field name. A nested object's errors are an object of the "
    "same shape, and so are a list's (e.g. order.items), keyed by the position of each "
    "invalid item. Errors of the whole object are under non_field_errors.",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"$ref": "#/components/schemas/ErrorFieldErrors"},
        ]
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error response. Some codes add keys (e.g. illegal_transition adds "
    "from_status and to_status).",
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable and machine-readable: invalid, malformed_json, "
            "unsupported_media_type, body_too_large, not_authenticated, invalid_api_key, "
            "api_key_revoked, api_key_expired, integration_inactive, not_found, "
            "illegal_transition, idempotency_key_reused, throttled, ...",
        },
        "detail": {"type": "string", "description": "For people; may change."},
        "errors": {
            "allOf": [{"$ref": "#/components/schemas/ErrorFieldErrors"}],
            "description": "Only with code invalid: what is wrong with which field.",
        },
    },
    "required": ["code", "detail"],
}

# status: (description, example body, response headers)
ERROR_RESPONSES: dict[int, tuple[str, dict, dict]] = {
    400: (
        "Invalid input: field errors (code invalid, with errors), or a body that is not "
        "usable JSON (malformed_json, unsupported_media_type, body_too_large).",
        {
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": {"order": {"amount": ["A valid number is required."]}},
        },
        {},
    ),
    401: (
        "No API key, an unknown one, or a malformed Authorization header.",
        {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
        {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Api-Key"}},
    ),
    403: (
        "The API key is revoked or expired, or the integration is disabled.",
        {"code": "api_key_revoked", "detail": "This API key has been revoked."},
        {},
    ),
    404: (
        "No such refund request for this integration (another integration's is a 404 too), "
        "or an invalid pagination cursor.",
        {"code": "not_found", "detail": "Not found."},
        {},
    ),
    409: (
        "The request's current status does not allow this (code illegal_transition).",
        {
            "code": "illegal_transition",
            "detail": "Refund request … cannot move from 'in_review' to 'received'.",
            "from_status": "in_review",
            "to_status": "received",
        },
        {},
    ),
    422: (
        "This Idempotency-Key was already used with a different body "
        "(code idempotency_key_reused).",
        {
            "code": "idempotency_key_reused",
            "detail": "This Idempotency-Key was already used with a different request body.",
        },
        {},
    ),
    429: (
        "Over the integration's rate (code throttled).",
        {"code": "throttled", "detail": "Request was throttled. Expected available in 5 seconds."},
        {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    ),
}


class ErrorResponsesAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self._error_component()
        for status in sorted(self.error_statuses(operation)):
            description, example, headers = ERROR_RESPONSES[status]
            response = {
                "description": description,
                "content": {"application/json": {"schema": error.ref, "example": example}},
            }
            if headers:
                response["headers"] = headers
            operation["responses"].setdefault(str(status), response)  # a view's own wins
        return operation

    def error_statuses(self, operation: dict) -> set[int]:
        """The error statuses this operation can answer with (see the module docstring)."""
        statuses = set()
        security = operation.get("security", [])
        if security and {} not in security:  # credentials required, not optional
            statuses |= {401, 403}
        if self.view.throttle_classes:
            statuses.add(429)
        parameters = operation.get("parameters", [])
        paginator = self._get_paginator() if self.method == "GET" and self._is_list_view() else None
        paging = (
            {p["name"] for p in paginator.get_schema_operation_parameters(self.view)}
            if paginator
            else set()
        )
        filters = [p for p in parameters if p["in"] == "query" and p["name"] not in paging]
        if "requestBody" in operation or filters:
            statuses.add(400)
        names_a_resource = any(p["in"] == "path" for p in parameters)
        if names_a_resource or isinstance(paginator, (CursorPagination, PageNumberPagination)):
            statuses.add(404)
        if names_a_resource and self.method in WRITE_METHODS:
            statuses.add(409)
        if any(p["in"] == "header" and p["name"] == IDEMPOTENCY_KEY_HEADER for p in parameters):
            statuses.add(422)
        return statuses

    def _error_component(self) -> ResolvedComponent:
        """Registers ``Error`` (and the ``ErrorFieldErrors`` it refers to) once."""
        for name, schema in (("ErrorFieldErrors", FIELD_ERRORS_SCHEMA), ("Error", ERROR_SCHEMA)):
            self.registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
                )
            )
        return self.registry[("Error", ResolvedComponent.SCHEMA)]

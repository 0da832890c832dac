"""Integrations authenticate with ``Authorization: Api-Key <key>`` (or ``X-Api-Key``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..models import IntegrationAPIKey

KEYWORD = "Api-Key"


class IntegrationKeyAuthentication(authentication.BaseAuthentication):
    """Sets ``request.auth`` to the Integration. Unknown key: 401; revoked or expired
    key, or inactive integration: 403 (the caller is known but no longer allowed)."""

    def authenticate(self, request):
        key = self._key_from(request)
        if key is None:
            return None
        prefix, _, _ = key.partition(".")
        api_key = (
            IntegrationAPIKey.objects.select_related("integration").filter(prefix=prefix).first()
        )
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        if api_key.revoked:
            raise exceptions.PermissionDenied(
                "This API key has been revoked.", code="api_key_revoked"
            )
        if api_key.has_expired:
            raise exceptions.PermissionDenied("This API key has expired.", code="api_key_expired")
        if not api_key.integration.is_active:
            raise exceptions.PermissionDenied(
                "This integration is disabled.", code="integration_inactive"
            )
        return (None, api_key.integration)

    def authenticate_header(self, request):
        return KEYWORD

    @staticmethod
    def _key_from(request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            keyword, _, key = header.partition(" ")
            if keyword.lower() == KEYWORD.lower() and key.strip():
                return key.strip()
            raise exceptions.AuthenticationFailed(
                f"Use 'Authorization: {KEYWORD} <key>'.", code="invalid_authorization_header"
            )
        key = request.META.get("HTTP_X_API_KEY", "").strip()
        return key or None


class IntegrationKeyScheme(OpenApiAuthenticationExtension):
    target_class = "refunds.api.authentication.IntegrationKeyAuthentication"
    name = "IntegrationApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"'{KEYWORD} <key>' as shown once when the key was created.",
        }

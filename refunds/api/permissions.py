from rest_framework.permissions import BasePermission

from ..models import Integration


class IsIntegration(BasePermission):
    """Only an authenticated integration may use the intake API."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Integration)

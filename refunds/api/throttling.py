from rest_framework.throttling import SimpleRateThrottle

from ..models import Integration


class IntegrationRateThrottle(SimpleRateThrottle):
    """One bucket per integration, its rate from the Integration row or the default."""

    scope = "integration"

    def allow_request(self, request, view):
        integration = request.auth
        if isinstance(integration, Integration) and integration.throttle_rate:
            self.rate = integration.throttle_rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Integration):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

import logging

from rest_framework.throttling import SimpleRateThrottle

from ..models import Integration

logger = logging.getLogger(__name__)


class IntegrationRateThrottle(SimpleRateThrottle):
    """One bucket per integration, its rate from the Integration row or the default.

    An unparseable rate on the row (it is free text in the admin) is logged and the default
    applies: a typo there must not turn every request of that integration into a 500."""

    scope = "integration"

    def allow_request(self, request, view):
        integration = request.auth
        if isinstance(integration, Integration) and integration.throttle_rate:
            try:
                self.num_requests, self.duration = self.parse_rate(integration.throttle_rate)
                self.rate = integration.throttle_rate
            except (ValueError, KeyError, IndexError):
                logger.error(
                    "invalid throttle rate, using the default",
                    extra={
                        "integration": integration.pk,
                        "throttle_rate": integration.throttle_rate,
                    },
                )
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Integration):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

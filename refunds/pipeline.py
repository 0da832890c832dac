"""From a received request to a gated one: draft with the agent, then route with the gate.

The agent issue fills in the drafting; until then a received request waits in 'received'.
"""

import logging

from .models import RefundRequest

logger = logging.getLogger(__name__)


def refund_request_run_pipeline(*, request_id: int) -> None:
    request = RefundRequest.objects.filter(pk=request_id).first()
    if request is None:
        logger.warning("refund request vanished before processing", extra={"id": request_id})
        return
    logger.info("refund request queued for drafting",
                extra={"public_id": str(request.public_id), "status": request.status})

"""What we tell the customer when a decision is carried out without a payment or a
parcel: the fixed texts the executor sends for a denial or a request for more information
(a reviewer may write their own; see ``reviews``)."""

from .actions import Action
from .models import OutboundMessage

MESSAGES = {
    Action.DENY_REFUND: (
        OutboundMessage.Kind.DENIAL,
        "We have looked at your request carefully and are unable to offer a refund in this case.",
    ),
    Action.REQUEST_MORE_INFO: (
        OutboundMessage.Kind.MORE_INFO,
        "We need a little more information to decide on your request. "
        "Please reply with details (and photos, if you have them).",
    ),
}

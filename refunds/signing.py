"""HMAC signatures on outgoing HTTP bodies, shared by the payment backend and the
webhooks (both import this; neither imports the other for it)."""

import hashlib
import hmac


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, as Stripe signs webhooks."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"

"""The Slack-compatible webhook URL: https, or plain http to 127.0.0.1 where allowed."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

LOCAL_HOSTS = frozenset({"127.0.0.1"})


def validate_webhook_url(value: str) -> None:
    """https://host/…; http:// only to 127.0.0.1 with ``HITL_NOTIFY_ALLOW_LOCAL_HTTP`` (on
    in DEBUG and in the tests), never to anywhere else."""
    if not value:
        return
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError as exc:
        raise ValidationError("Enter a valid URL.", code="invalid") from exc
    if not host or parts.username or parts.password:
        raise ValidationError("Enter a URL with a host and no credentials.", code="invalid")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in LOCAL_HOSTS and settings.HITL_NOTIFY_ALLOW_LOCAL_HTTP:
        return
    raise ValidationError("The webhook URL must start with https://.", code="insecure")

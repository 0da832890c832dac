"""Production: refuses to start without SECRET_KEY and HITL_INTEGRITY_KEY; HTTPS-only cookies
and HSTS."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEVELOPMENT_INTEGRITY_KEY, HITL_INTEGRITY_KEY, env

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Production settings refuse to start without it "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

if not HITL_INTEGRITY_KEY or HITL_INTEGRITY_KEY == DEVELOPMENT_INTEGRITY_KEY:
    raise ImproperlyConfigured(
        "HITL_INTEGRITY_KEY is not set (or is the published development key). Production "
        "settings refuse to start without it: it keys the audit chain and the payload hashes, "
        "separately from SECRET_KEY (generate one with: python -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'; name it with HITL_INTEGRITY_KEY_ID; see README, "
        '"Integrity keys").'
    )
if HITL_INTEGRITY_KEY == SECRET_KEY:
    raise ImproperlyConfigured("HITL_INTEGRITY_KEY must differ from SECRET_KEY.")

DEBUG = env.bool("DEBUG", default=False)
HITL_DEMO_DATA_ALLOWED = env.bool("HITL_DEMO_DATA_ALLOWED", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True

"""Keyed integrity hashes: HMAC-SHA256 under a key that lives outside the database.

The audit chain and the final-decision payload hash are only tamper-evident against
someone who cannot recompute them. A plain SHA-256 can be recomputed by anyone who can
write to the database; an HMAC needs the key, which is read from the environment
(``HITL_INTEGRITY_KEY``, separate from ``SECRET_KEY``) and never stored in the database.

A hash is stored self-describing, like Django's password hashes::

    hmac-sha256:<key id>:<64 hex digits>

so every copy of it (the row, the audit event that recorded it, an export, an anchor)
says which key made it, and verification picks that key from the ring: the current key
(``HITL_INTEGRITY_KEY_ID`` / ``HITL_INTEGRITY_KEY``) or one of the verification-only keys
(``HITL_INTEGRITY_KEYS_OLD``: retired keys, and the next key while a rotation is being
rolled out). New hashes are always made with the current key.

A bare 64-hex-digit value is a plain SHA-256 from before keyed hashes (``LEGACY``): it is
recognised, and it verifies as such, but callers decide whether to trust it. The audit
chain accepts it only in the prefix of the chain that the first keyed event seals; the
executor never pays on it. See README, "Integrity keys".
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

ALGORITHM = "hmac-sha256"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MIN_SECRET_LENGTH = 32
# Long enough for "hmac-sha256:" + a 32-character key id + ":" + 64 hex digits.
HASH_MAX_LENGTH = 128

_LEGACY = re.compile(r"^[0-9a-f]{64}$")
_KEYED = re.compile(r"^hmac-sha256:([A-Za-z0-9_.-]{1,32}):([0-9a-f]{64})$")


@dataclass(frozen=True)
class IntegrityKey:
    id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class KeyRing:
    """The current key (makes and verifies) and the verification-only keys."""

    current: IntegrityKey
    others: tuple[IntegrityKey, ...] = ()

    def get(self, key_id: str) -> IntegrityKey | None:
        for key in (self.current, *self.others):
            if key.id == key_id:
                return key
        return None

    @property
    def ids(self) -> list[str]:
        return [self.current.id, *(key.id for key in self.others)]


class Verdict(StrEnum):
    """What checking a stored hash against the data found."""

    VALID = "valid"  # keyed, made with a key of the ring, matches
    LEGACY_VALID = "legacy_valid"  # plain SHA-256 (before keyed hashes), matches
    MISMATCH = "mismatch"  # well-formed, but the data does not match it
    UNKNOWN_KEY = "unknown_key"  # keyed with a key id that the ring does not hold
    MALFORMED = "malformed"  # neither a keyed nor a legacy hash (empty included)


@dataclass(frozen=True)
class ParsedHash:
    key_id: str  # "" for a legacy plain SHA-256
    digest: str

    @property
    def legacy(self) -> bool:
        return not self.key_id


def parse_hash(value: str) -> ParsedHash | None:
    """Splits a stored hash into its key id and digest; None if it is neither form."""
    if _LEGACY.match(value or ""):
        return ParsedHash("", value)
    match = _KEYED.match(value or "")
    return ParsedHash(match[1], match[2]) if match else None


def parse_keyring(*, current_id: str, current_secret: str, others: str = "") -> KeyRing:
    """Builds the ring from the three settings; raises ``ImproperlyConfigured`` for a
    missing or short secret, a malformed id, or an id used twice.

    ``others`` is a comma-separated list of ``id:secret`` (secrets cannot hold a comma).
    """
    current = _key(current_id, current_secret, "HITL_INTEGRITY_KEY")
    rest: list[IntegrityKey] = []
    for item in (part.strip() for part in (others or "").split(",")):
        if not item:
            continue
        key_id, sep, secret = item.partition(":")
        if not sep:
            raise ImproperlyConfigured(
                "HITL_INTEGRITY_KEYS_OLD: each entry must be 'key-id:secret', comma-separated."
            )
        rest.append(_key(key_id.strip(), secret.strip(), "HITL_INTEGRITY_KEYS_OLD"))
    seen: set[str] = set()
    for key in (current, *rest):
        if key.id in seen:
            raise ImproperlyConfigured(
                f"Integrity key id {key.id!r} is used twice: a new key needs a new "
                "HITL_INTEGRITY_KEY_ID (old hashes name the key that made them)."
            )
        seen.add(key.id)
    return KeyRing(current, tuple(rest))


def _key(key_id: str, secret: str, setting: str) -> IntegrityKey:
    if not KEY_ID_PATTERN.match(key_id or ""):
        raise ImproperlyConfigured(
            f"{setting}: integrity key id {key_id!r} must be 1-32 of A-Z a-z 0-9 _ . -"
        )
    if len(secret or "") < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"{setting}: the secret of integrity key {key_id!r} must be at least "
            f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')."
        )
    return IntegrityKey(key_id, secret.encode("utf-8"))


def keyring() -> KeyRing:
    """The ring from the settings (parsed once; re-read when a test overrides them)."""
    return _keyring(
        settings.HITL_INTEGRITY_KEY_ID,
        settings.HITL_INTEGRITY_KEY,
        settings.HITL_INTEGRITY_KEYS_OLD,
    )


@cache
def _keyring(current_id: str, current_secret: str, others: str) -> KeyRing:
    return parse_keyring(current_id=current_id, current_secret=current_secret, others=others)


@receiver(setting_changed)
def _forget_keyring(*, setting, **kwargs) -> None:
    if setting.startswith("HITL_INTEGRITY_KEY"):
        _keyring.cache_clear()


def keyed_hash(data: bytes, *, key: IntegrityKey | None = None) -> str:
    """``hmac-sha256:<key id>:<hex>`` of ``data`` under ``key`` (default: the current key)."""
    key = key or keyring().current
    digest = hmac.new(key.secret, data, hashlib.sha256).hexdigest()
    return f"{ALGORITHM}:{key.id}:{digest}"


def plain_hash(data: bytes) -> str:
    """The unkeyed SHA-256 that hashes were before keyed hashes (and what anyone with
    database access can recompute)."""
    return hashlib.sha256(data).hexdigest()


def check_hash(data: bytes, stored: str) -> Verdict:
    """Checks ``stored`` against ``data`` with the key that ``stored`` names."""
    parsed = parse_hash(stored)
    if parsed is None:
        return Verdict.MALFORMED
    if parsed.legacy:
        matches = hmac.compare_digest(plain_hash(data), parsed.digest)
        return Verdict.LEGACY_VALID if matches else Verdict.MISMATCH
    key = keyring().get(parsed.key_id)
    if key is None:
        return Verdict.UNKNOWN_KEY
    matches = hmac.compare_digest(keyed_hash(data, key=key), stored)
    return Verdict.VALID if matches else Verdict.MISMATCH

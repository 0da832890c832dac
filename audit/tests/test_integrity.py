"""Keyed hashes: what a database writer without the integrity key can no longer do, key
rotation, and chains from before keyed hashes (sealed by the upgrade's migration)."""

import json
from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from audit.checks import check_integrity_keys
from audit.hashing import event_canonical, event_hash, event_hash_unkeyed
from audit.integrity import (
    IntegrityKey,
    Verdict,
    check_hash,
    keyed_hash,
    parse_hash,
    parse_keyring,
    plain_hash,
)
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import UNKEYED, audit_chain_verify
from audit.services import Actor, record_event

pytestmark = pytest.mark.django_db

K1 = "k1-secret-" + "a" * 40
K2 = "k2-secret-" + "b" * 40
seal_unkeyed_chain = import_module("audit.migrations.0005_keyed_hashes").seal_unkeyed_chain


def fields_of(event: AuditEvent, **changes) -> dict:
    fields = {
        name: getattr(event, name)
        for name in (
            "sequence",
            "created_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "event_type",
            "subject_type",
            "subject_id",
            "payload",
            "prev_hash",
        )
    }
    return {**fields, **changes}


def rehash_from(sequence: int, tamper, *, hasher, payload=None) -> None:
    """What a database writer does to hide an edit: rewrites event ``sequence`` (with
    ``payload``, if given) and every later one with ``hasher``, relinks them, and moves the
    chain head along, so that every link and the head agree again."""
    prev = AuditEvent.objects.get(sequence=sequence).prev_hash
    for event in AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"):
        changes = {"prev_hash": prev}
        if payload is not None and event.sequence == sequence:
            changes["payload"] = payload
        new_hash = hasher(**fields_of(event, **changes))
        tamper(
            "UPDATE audit_auditevent SET payload = %s, prev_hash = %s, hash = %s "
            "WHERE sequence = %s",
            [
                json.dumps(changes.get("payload", event.payload)),
                prev,
                new_hash,
                event.sequence,
            ],
        )
        prev = new_hash
    AuditChainHead.objects.filter(pk=1).update(hash=prev)


# --- the hash itself -------------------------------------------------------------------------


def test_event_hash_is_keyed_and_differs_from_the_plain_sha256(chain):
    event = AuditEvent.objects.get(sequence=3)

    assert event.hash.startswith("hmac-sha256:dev:")
    assert parse_hash(event.hash).digest != event_hash_unkeyed(**fields_of(event))
    assert event.hash != event_hash(key=IntegrityKey("dev", b"another-key" * 4), **fields_of(event))


def test_check_hash_names_what_it_found():
    data = b'{"a":1}'
    stored = keyed_hash(data)

    assert check_hash(data, stored) == Verdict.VALID
    assert check_hash(b'{"a":2}', stored) == Verdict.MISMATCH
    assert check_hash(data, plain_hash(data)) == Verdict.LEGACY_VALID
    assert check_hash(b"x", plain_hash(data)) == Verdict.MISMATCH
    assert check_hash(data, stored.replace(":dev:", ":gone:")) == Verdict.UNKNOWN_KEY
    assert check_hash(data, "") == Verdict.MALFORMED
    assert check_hash(data, "md5:" + "0" * 32) == Verdict.MALFORMED


@pytest.mark.parametrize(
    ("current_id", "secret", "others", "message"),
    [
        ("k1", "short", "", "at least 32 characters"),
        ("k 1", K1, "", "must be 1-32 of"),
        ("k1", K1, "k1:" + K2, "used twice"),
        ("k2", K2, "no-colon-here", "'key-id:secret'"),
        ("k2", K2, "k1:short", "at least 32 characters"),
    ],
)
def test_key_ring_refuses_bad_configuration(current_id, secret, others, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_keyring(current_id=current_id, current_secret=secret, others=others)


def test_system_check_stops_a_process_with_a_bad_key_ring(settings):
    assert check_integrity_keys() == []
    settings.HITL_INTEGRITY_KEY = "too-short"

    [error] = check_integrity_keys()

    assert error.id == "audit.E001" and "at least 32" in error.msg


# --- tampering without the key ---------------------------------------------------------------


def test_edited_event_with_recomputed_unkeyed_hashes_fails_verification(chain, tamper):
    """The old attack: edit #3 and recompute plain SHA-256 hashes from there to the head.
    Every link and the head agree again; the hashes are simply not keyed."""
    rehash_from(3, tamper, hasher=event_hash_unkeyed, payload={"n": 999})

    report = audit_chain_verify()

    assert report.broken.sequence == 3
    assert "unkeyed SHA-256 hash after keyed events" in report.broken.reason
    with pytest.raises(CommandError, match="event #3"):
        call_command("verify_audit", "--no-anchors")


def test_whole_chain_rehashed_without_the_key_fails_verification(chain, tamper):
    """Rewriting every event as if it predated keyed hashes is caught too: an honest
    chain always has a keyed event after its unkeyed prefix."""
    rehash_from(1, tamper, hasher=event_hash_unkeyed, payload={"n": 0})

    report = audit_chain_verify()

    assert report.broken is not None
    assert "no event carries a keyed hash" in report.broken.reason


def test_event_rehashed_under_a_guessed_key_fails_verification(chain, tamper):
    guessed = IntegrityKey("dev", b"guessed-key-guessed-key-guessed-key!")
    rehash_from(4, tamper, hasher=lambda **f: event_hash(key=guessed, **f), payload={"n": "forged"})

    report = audit_chain_verify()

    assert report.broken.sequence == 4
    assert "content does not match its hash" in report.broken.reason


def test_malformed_hash_fails_verification(chain, tamper):
    tamper("UPDATE audit_auditevent SET hash = 'not-a-hash' WHERE sequence = 5")
    AuditChainHead.objects.filter(pk=1).update(hash="not-a-hash")

    assert audit_chain_verify().broken.sequence == 5


# --- rotation --------------------------------------------------------------------------------


def test_rotation_keeps_old_events_verifiable_and_signs_new_ones_with_the_new_key(settings):
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", K1
    for n in range(3):
        record_event(event_type="test.before", actor=Actor.system("t"), payload={"n": n})

    # Rotate: k2 signs from now on, k1 is kept for verification only.
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", K2
    settings.HITL_INTEGRITY_KEYS_OLD = f"k1:{K1}"
    after = record_event(event_type="test.after", actor=Actor.system("t"))

    assert after.hash.startswith("hmac-sha256:k2:")
    report = audit_chain_verify()
    assert report.ok, report.broken
    assert report.keys == {"k1": 3, "k2": 1}


def test_rotation_without_the_old_key_names_the_missing_key(settings, capsys):
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", K1
    record_event(event_type="test.before", actor=Actor.system("t"))
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", K2

    report = audit_chain_verify()

    assert report.broken.sequence == 1
    assert "'k1', which is not configured" in report.broken.reason
    assert "HITL_INTEGRITY_KEYS_OLD" in report.broken.reason


def test_next_key_rolled_out_as_verification_only_verifies_before_it_signs(settings):
    """Rotation step 1: every process learns the next key (verification only) before any
    process signs with it, so none meets a hash it cannot check."""
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k2", K2
    record_event(event_type="test.by-a-switched-process", actor=Actor.system("t"))
    settings.HITL_INTEGRITY_KEY_ID, settings.HITL_INTEGRITY_KEY = "k1", K1
    settings.HITL_INTEGRITY_KEYS_OLD = f"k2:{K2}"

    assert audit_chain_verify().ok


# --- chains from before keyed hashes -----------------------------------------------------------


def make_unkeyed(tamper) -> None:
    """Turns the chain into what it was before the upgrade: plain SHA-256 throughout."""
    rehash_from(1, tamper, hasher=event_hash_unkeyed)


def test_unkeyed_chain_sealed_by_the_migration_verifies(chain, tamper, capsys):
    make_unkeyed(tamper)
    old_head = AuditChainHead.objects.get().hash

    seal_unkeyed_chain(apps, None)

    seal = AuditEvent.objects.get(sequence=6)
    assert seal.event_type == "audit.integrity_keyed"
    assert seal.prev_hash == old_head and seal.hash.startswith("hmac-sha256:dev:")
    assert seal.payload == {"unkeyed_events": 5, "unkeyed_head": old_head, "key_id": "dev"}
    report = audit_chain_verify()
    assert report.ok, report.broken
    assert report.keys == {UNKEYED: 5, "dev": 1}
    call_command("verify_audit", "--no-anchors")
    assert "Audit chain OK: 6 events" in capsys.readouterr().out
    # New events are keyed and carry on from the seal.
    assert record_event(event_type="test.after", actor=Actor.system("t")).sequence == 7
    assert audit_chain_verify().ok


def test_sealed_unkeyed_prefix_cannot_be_rewritten_without_the_key(chain, tamper):
    make_unkeyed(tamper)
    seal_unkeyed_chain(apps, None)
    # Rewrite #2..#5 with plain hashes: the unkeyed prefix relinks, the keyed seal cannot.
    prev = AuditEvent.objects.get(sequence=2).prev_hash
    for event in AuditEvent.objects.filter(sequence__range=(2, 5)).order_by("sequence"):
        payload = {"n": "forged"} if event.sequence == 2 else event.payload
        new_hash = event_hash_unkeyed(**fields_of(event, payload=payload, prev_hash=prev))
        tamper(
            "UPDATE audit_auditevent SET payload = %s, prev_hash = %s, hash = %s "
            "WHERE sequence = %s",
            [json.dumps(payload), prev, new_hash, event.sequence],
        )
        prev = new_hash

    report = audit_chain_verify()

    assert report.broken.sequence == 6
    assert "prev_hash" in report.broken.reason


def test_seal_is_not_written_for_an_empty_or_already_keyed_chain(chain):
    seal_unkeyed_chain(apps, None)

    assert AuditEvent.objects.count() == 5
    assert not AuditEvent.objects.filter(event_type="audit.integrity_keyed").exists()


# Computed with the code before keyed hashes (audit/hashing.py at e669423): the plain hash
# of rows written then must come out the same, or old chains would stop verifying.
GOLDEN_FIELDS = dict(
    sequence=7,
    created_at=datetime(2026, 11, 25, 10, 15, 0, 123456, tzinfo=UTC),
    actor_type="user",
    actor_id="3",
    actor_label="alice",
    event_type="decision.finalized",
    subject_type="refunds.refundrequest",
    subject_id="42",
    payload={"amount": "19.99", "payload_hash": "ab" * 32},
    prev_hash="cd" * 32,
)
GOLDEN_PLAIN = "b1afb040cb047c4685e47e70b2937b516f341b108ccad85034c04bf071f9260c"
GOLDEN_KEYED_DEV = (
    "hmac-sha256:dev:22ef54e6faa5cab505b13fc0395bca0a8f93e45d6254d2864a7620812b60f10e"
)


def test_plain_hash_of_old_rows_is_what_the_old_code_computed():
    assert event_hash_unkeyed(**GOLDEN_FIELDS) == GOLDEN_PLAIN
    assert check_hash(event_canonical(**GOLDEN_FIELDS), GOLDEN_PLAIN) == Verdict.LEGACY_VALID
    assert event_hash(**GOLDEN_FIELDS) == GOLDEN_KEYED_DEV

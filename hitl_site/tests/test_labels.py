"""The one label helper: codes as words, stored values as readable text."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template

from hitl_site.labels import display_value, label, money_html, payload_html, short_id_html


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("approve_refund", "approve refund"),  # actions
        ("suspected_fraud", "suspected fraud"),  # reason codes
        ("awaiting_customer", "awaiting customer"),  # statuses
        ("auto_approved", "auto-approved"),
        ("approve_with_edits", "approve with edits"),  # outcomes
        ("refund_request.received", "refund request received"),  # event types
        ("refund_request.transitioned", "status changed"),
        ("review.pii_revealed", "personal data revealed"),
        ("integration.api_key_created", "integration API key created"),
        ("sla_missed", "SLA missed"),
        ("due_at", "due"),  # payload keys
        ("payload_hash", "payload hash"),
        ("public_id", "request ID"),
    ],
)
def test_label_turns_codes_into_words(code, expected):
    assert label(code) == expected


@pytest.mark.parametrize(
    ("value", "key", "expected"),
    [
        (None, None, "—"),
        ("", None, "—"),
        (True, None, "Yes"),
        (False, "replayed", "No"),
        (3, "attempts", "3"),
        ("approve_refund", "action", "approve refund"),
        ("in_review", "from", "in review"),  # a transition's status
        ("policy_admin", "to", "policy_admin"),  # a reassignment's user name stays as it is
        ("Customer wrote: see_attached", "comment", "Customer wrote: see_attached"),
        ("2026-12-05T09:10:05.123Z", "until", "2026-12-05 09:10:05"),
    ],
)
def test_display_value(value, key, expected, settings):
    settings.TIME_ZONE = "UTC"
    assert display_value(value, key) == expected


def test_payload_renders_key_value_lists_with_human_keys_and_values():
    html = payload_html(
        {
            "outcome": "approve_with_edits",
            "confirms": None,
            "replayed": False,
            "payload_hash": "ab" * 32,
            "reasons": [{"code": "amount_over_ceiling", "message": "Over <25>"}],
            "decision": {"action": "request_more_info", "risk_flags": []},
        }
    )

    assert html.startswith('<ul class="hitl-kv">')
    for part in (
        '<span class="hitl-key">Outcome:</span> approve with edits',
        '<span class="hitl-key">Confirms:</span> —',
        '<span class="hitl-key">Replayed:</span> No',
        f'<code class="hitl-hash" title="{"ab" * 32}">{"ab" * 6}…</code>',
        '<span class="hitl-key">Code:</span> amount over ceiling',
        "Over &lt;25&gt;",  # recorded text is escaped
        '<span class="hitl-key">Action:</span> request more information',
        '<span class="hitl-key">Risk flags:</span> —',
    ):
        assert part in html, part
    for raw in ("{'", "None", "False", "approve_with_edits", "[]"):
        assert raw not in html, raw


def test_short_id_and_money():
    uuid = "1a501d3c-cd53-414c-bc29-10f610682855"
    assert short_id_html(uuid) == f'<code class="hitl-id" title="{uuid}">1a501d3c</code>'
    assert money_html(None, "GBP") == '<span class="hitl-money">—</span>'
    assert money_html("12.50", "GBP") == '<span class="hitl-money">12.50 GBP</span>'


def test_template_filters():
    rendered = Template(
        "{% load labels %}{{ code|label|capfirst }} | {{ when|date:'DATETIME_FORMAT' }}"
    ).render(Context({"code": "gate.evaluated", "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}))
    assert rendered == "Gate evaluated | 2026-01-02 03:04:05"

"""Human labels for the codes the system stores, and readable renderings of what it records.

One helper for every page (admin, timeline, audit log, review pages, dashboard):

- ``label(code)``: an action, reason code, status, outcome, event type or payload key as
  words — ``approve_refund`` → "approve refund", ``refund_request.transitioned`` →
  "status changed", ``due_at`` → "due", ``sla_missed`` → "SLA missed". Lower case, so it
  reads inside a sentence; templates start a cell with ``|label|capfirst``.
- ``display_value(value, key)``: one stored value as text — ``None`` → "—", booleans →
  Yes/No, timestamps to the second, codes (by their key) as labels.
- ``payload_html(payload)``: an audit payload as a list of "Key value" items, nested lists
  for nested data; hashes shortened (the full value in the tooltip).
- ``short_id_html(uuid)`` and ``money_html(amount, currency)``: the compact, unwrapped forms
  for tables.

The template filters of the same names are in ``hitl_site.templatetags.labels``.
"""

import re
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

EMPTY = "—"

# Where the words of the code are not the best label.
LABELS = {
    # event types
    "refund_request.transitioned": "status changed",
    "context.retrieved": "policy sections retrieved",
    "proposal.created": "proposal drafted",
    "decision.finalized": "decision made final",
    "execution.provider_called": "payment provider called",
    "review.decided": "reviewer decided",
    "review.first_approval": "first approval (four eyes)",
    "review.pii_revealed": "personal data revealed",
    "review.sla_escalated": "escalated after the SLA",
    "review_queue.access_granted": "queue access granted",
    "review_queue.access_revoked": "queue access revoked",
    "ops.drift_detected": "drift detected",
    # codes
    "auto_approved": "auto-approved",
    "request_more_info": "request more information",
    # payload keys
    "four_eyes_first_approver": "first approver (four eyes)",
    "public_id": "request ID",
}
ACRONYMS = {"id": "ID", "api": "API", "sla": "SLA", "pii": "PII", "url": "URL", "uuid": "UUID"}

# Payload keys whose string values are codes (shown as labels); "from" and "to" are codes
# only when they are statuses (a transition), not user names (a reassignment).
CODE_KEYS = frozenset(
    {
        "action",
        "final_action",
        "proposed_action",
        "outcome",
        "route",
        "source",
        "reason_code",
        "code",
        "reasons",
        "failure_code",
        "error_code",
        "phase",
        "status",
        "risk_flags",
        "customer_sentiment",
        "policy_match",
    }
)
STATUS_KEYS = frozenset({"from", "to"})
# The status codes a "from"/"to" may hold, told by the apps that own them at start-up
# (``status_codes_register`` in their ``AppConfig.ready``): the kernel knows no app.
_STATUS_CODES: set[str] = set()
_HASH = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def label(code: Any) -> str:
    """The human label of a stored code (see the module)."""
    text = str(code)
    if text in LABELS:
        return LABELS[text]
    words = re.split(r"[._\s]+", text.strip("._ "))
    if len(words) > 1 and words[-1] == "at":  # due_at, deadline_at: "due", "deadline"
        words = words[:-1]
    return " ".join(ACRONYMS.get(w.lower(), w) for w in words if w)


def status_codes_register(codes) -> None:
    """Make ``codes`` read as statuses (labelled) where a payload says "from"/"to"."""
    _STATUS_CODES.update(str(code) for code in codes)


def _is_code(value: str, key: str | None) -> bool:
    return key in CODE_KEYS or (key in STATUS_KEYS and value in _STATUS_CODES)


def display_value(value: Any, key: str | None = None) -> str:
    """One stored value as text: "—" for nothing, Yes/No, a timestamp to the second in the
    site's time zone, a code (by its key) as its label, anything else as it is."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        if _is_code(value, key):
            return label(value)
        if _TIMESTAMP.match(value) and (moment := parse_datetime(value)) is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return date_format(moment, "DATETIME_FORMAT")
    return str(value)


def _scalar_html(value: Any, key: str | None) -> SafeString:
    if isinstance(value, str) and _HASH.fullmatch(value):
        return format_html('<code class="hitl-hash" title="{}">{}…</code>', value, value[:12])
    return format_html("{}", display_value(value, key))


def _inline_html(item: dict) -> SafeString:
    """A record inside a list (a gate reason, a policy section) on one line."""
    return format_html_join(
        " · ",
        '<span class="hitl-key">{}:</span> {}',
        ((capfirst(label(k)), _value_html(v, k)) for k, v in item.items()),
    )


def _value_html(value: Any, key: str | None) -> SafeString:
    if isinstance(value, dict):
        return payload_html(value)
    if isinstance(value, list | tuple):
        if not value:
            return format_html("{}", EMPTY)
        if not any(isinstance(v, dict | list | tuple) for v in value):
            return format_html_join(", ", "{}", ((_scalar_html(v, key),) for v in value))
        return format_html(
            '<ul class="hitl-list">{}</ul>',
            format_html_join(
                "",
                "<li>{}</li>",
                ((_inline_html(v) if isinstance(v, dict) else _value_html(v, key),) for v in value),
            ),
        )
    return _scalar_html(value, key)


def payload_html(payload: Any) -> SafeString:
    """An audit payload as "Key value" items, nested data as nested lists."""
    if not isinstance(payload, dict):
        return _value_html(payload, None)
    if not payload:
        return format_html("{}", EMPTY)
    return format_html(
        '<ul class="hitl-kv">{}</ul>',
        format_html_join(
            "",
            '<li><span class="hitl-key">{}:</span> {}</li>',
            ((capfirst(label(k)), _value_html(v, k)) for k, v in payload.items()),
        ),
    )


def short_id_html(value: Any) -> SafeString:
    """A UUID as its first eight characters in monospace, never wrapped, the whole of it
    in the tooltip (the admin search and the review queue's search take the prefix)."""
    if value in (None, ""):
        return format_html("{}", EMPTY)
    text = str(value)
    return format_html('<code class="hitl-id" title="{}">{}</code>', text, text[:8])


def money_html(amount: Any, currency: str = "") -> SafeString:
    """An amount and its currency, kept on one line; "—" when there is none."""
    if amount is None:
        return format_html('<span class="hitl-money">{}</span>', EMPTY)
    return format_html('<span class="hitl-money">{} {}</span>', amount, currency)

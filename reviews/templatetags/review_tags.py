from datetime import datetime

from django import template
from django.utils import timezone

from hitl_site.labels import label
from refunds.gate.vocabulary import reason_label as _reason_label

register = template.Library()


def _span(minutes: int) -> str:
    hours, mins = divmod(abs(minutes), 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


@register.filter
def sla_countdown(due_at: datetime | None) -> str:
    """'in 2 h 5 min' or 'overdue 12 min' (the page's script keeps it ticking)."""
    if due_at is None:
        return ""
    minutes = int((due_at - timezone.now()).total_seconds() // 60)
    return f"in {_span(minutes)}" if minutes >= 0 else f"overdue {_span(minutes)}"


@register.filter
def is_overdue(due_at: datetime | None) -> bool:
    return due_at is not None and due_at <= timezone.now()


# The review pages' name for the site-wide label helper (hitl_site.labels.label).
register.filter("humanize_code", label)


@register.filter
def reason_label(code: str) -> str:
    """A gate reason code as reviewers read it ("repeat_question" → "question already
    asked"); the code itself goes in the tag's title."""
    return _reason_label(code)

"""The forms of the gate admin: a policy version edited as text (lists one per line or
comma-separated, maps as ``key = value`` lines) and the backtest's start day."""

import re
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html

from .actions import Action
from .agent.schemas import Sentiment
from .gate.policy import CUSTOMER_TIERS, POLICY_FIELD_NAMES, gate_policy_diff
from .gate.text import normalize_terms
from .gate.vocabulary import QUEUES, REASON_CODES
from .models import GatePolicyVersion

_PAIR_LINE = re.compile(r"^\s*([A-Za-z_]+)\s*[:=]?\s*(\S+)\s*$")
_SPLIT = re.compile(r"[,\n;]+")


def _split(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        match = _PAIR_LINE.match(line)
        if match is None:
            raise ValidationError(f"“{line.strip()}” is not of the form “{what}”.", code="invalid")
        pairs.append((match.group(1), match.group(2)))
    return pairs


def _as_text(value) -> str:
    """A stored list or mapping as the form shows it (one item or pair per line)."""
    if isinstance(value, dict):
        return "\n".join(f"{k} = {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(map(str, value))
    return value or ""


class GatePolicyVersionForm(forms.ModelForm):
    """Lists as check boxes or one-per-line text; pairs as ``key = value`` lines."""

    base_version: GatePolicyVersion | None = None  # set per request by the admin

    currency_ceilings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: “EUR = 30.00”. Currencies not listed use the ceiling above.",
    )
    auto_actions = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(a.value, a.value) for a in Action],
        help_text="Proposed actions that may be executed without a human.",
    )
    review_sentiments = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(s.value, s.value) for s in Sentiment],
    )
    risk_terms = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line (or comma-separated). Matched case-insensitively anywhere "
        "in the customer's message and the model's rationale and flags, so "
        "“legal” also matches “illegal”. Add inflected forms (“injuries”) you "
        "want matched.",
    )
    review_tiers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(t, t) for t in CUSTOMER_TIERS],
    )
    review_countries = forms.CharField(
        required=False, help_text="ISO country codes, comma-separated, e.g. “US, FR”."
    )
    queue_routes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=format_html(
            "One per line: “reason_code = queue”; unlisted reasons go to standard. "
            "Queues: {}. Reasons: {}.",
            ", ".join(QUEUES),
            ", ".join(REASON_CODES),
        ),
    )
    priority_tiers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(t, t) for t in CUSTOMER_TIERS],
        help_text="Customers in these tiers get one step more priority in review.",
    )

    class Meta:
        model = GatePolicyVersion
        fields = ("change_note", *POLICY_FIELD_NAMES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("currency_ceilings", "queue_routes", "risk_terms"):
            self.initial[name] = _as_text(self.initial.get(name))
        self.initial["review_countries"] = ", ".join(
            _split(_as_text(self.initial.get("review_countries")))
        )
        if not self.is_bound and self.instance.pk:
            self.initial["change_note"] = ""  # a new version needs its own note

    def clean_currency_ceilings(self) -> dict[str, str]:
        return {
            currency.upper(): amount
            for currency, amount in _pairs(self.cleaned_data["currency_ceilings"], "CUR = amount")
        }

    def clean_risk_terms(self) -> list[str]:
        return list(normalize_terms(_split(self.cleaned_data["risk_terms"])))

    def clean_review_countries(self) -> list[str]:
        return list(dict.fromkeys(c.upper() for c in _split(self.cleaned_data["review_countries"])))

    def clean_queue_routes(self) -> dict[str, str]:
        return dict(_pairs(self.cleaned_data["queue_routes"], "reason_code = queue"))

    def policy_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_FIELD_NAMES}

    def clean(self):
        cleaned = super().clean()
        base = self.base_version
        if base is not None and not self.errors:
            candidate = GatePolicyVersion(version=base.version, **self.policy_values())
            try:
                unchanged = not gate_policy_diff(base.to_snapshot(), candidate.to_snapshot())
            except (ValueError, ArithmeticError, AttributeError, TypeError):
                unchanged = False  # invalid values: the field validators report them
            if unchanged:
                raise ValidationError(
                    f"Nothing differs from version {base.version}; change "
                    "a setting to create a new version.",
                    code="unchanged",
                )
        return cleaned


class BacktestForm(forms.Form):
    since = forms.DateField(
        help_text="Replay cases gated on or after this day (YYYY-MM-DD).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_since(self) -> date:
        since = self.cleaned_data["since"]
        if since > timezone.localdate():
            raise ValidationError("The start day is in the future.", code="future")
        return since

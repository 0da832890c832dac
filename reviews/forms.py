"""Forms of the review pages: they parse input; the rules are in ``reviews.services``."""

from django import forms

from refunds.agent.schemas import Action
from refunds.money import DECIMAL_PLACES, MAX_DIGITS

from .models import Outcome, RejectReason

ACTION_CHOICES = [(a.value, a.value.replace("_", " ").capitalize()) for a in Action]


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    version = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=ACTION_CHOICES, required=False)
    amount = forms.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    message = forms.CharField(
        required=False,
        max_length=4000,
        label="Message to the customer",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reason_code = forms.ChoiceField(
        choices=[("", "— reason (to reject) —"), *RejectReason.choices], required=False
    )
    comment = forms.CharField(
        required=False,
        max_length=4000,
        label="Comment / note (required to reject or escalate)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "request id, customer, order  ( / )"}),
    )
    queue = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "All active"),
            ("open", "Unclaimed"),
            ("mine", "Claimed by me"),
            ("claimed", "Claimed"),
            ("escalated", "Escalated"),
        ],
    )
    priority = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any priority"),
            ("3", "Urgent"),
            ("2", "High"),
            ("1", "Normal"),
            ("0", "Low"),
        ],
    )
    reason = forms.CharField(
        required=False, max_length=64, widget=forms.TextInput(attrs={"placeholder": "reason code"})
    )

    def __init__(self, *args, queues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "All my queues"), *[(q.slug, q.name) for q in queues]]

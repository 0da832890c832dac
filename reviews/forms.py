"""Forms of the review pages: they parse input; the rules are in ``reviews.services``."""

from django import forms

from refunds.actions import Action, RejectReason
from refunds.money import DECIMAL_PLACES, MAX_DIGITS

from .models import Outcome

ACTION_CHOICES = [(a.value, a.value.replace("_", " ").capitalize()) for a in Action]


def _text(label: str, rows: int, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=4000,
        label=label,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


# Each outcome has its own fields (its own part of the page): what a reviewer types under
# one outcome is never used by another.
OUTCOME_FIELDS: dict[str, tuple[str, ...]] = {
    Outcome.APPROVE: ("approve_message",),
    Outcome.APPROVE_WITH_EDITS: ("edit_action", "edit_amount", "edit_message"),
    Outcome.REJECT: ("reject_reason", "reject_comment", "reject_message"),
    Outcome.REQUEST_MORE_INFO: ("question",),
    Outcome.ESCALATE: ("escalate_note",),
}
OUTCOME_OF_FIELD = {name: outcome for outcome, names in OUTCOME_FIELDS.items() for name in names}
# What each outcome needs, checked here so the error sits beside its field (the service
# checks the same again: it is the authority).
REQUIRED = {
    Outcome.APPROVE_WITH_EDITS: {"edit_action": "Choose the action to approve."},
    Outcome.REJECT: {
        "reject_reason": "Choose a reason code for the rejection.",
        "reject_comment": "A comment is required to reject.",
    },
    Outcome.REQUEST_MORE_INFO: {"question": "Write the question to ask the customer."},
    Outcome.ESCALATE: {"escalate_note": "Add a note for the senior reviewer."},
}


# The words on the buttons (the page and the form's messages use the same).
BUTTON_LABELS = {
    Outcome.APPROVE: "Approve as proposed",
    Outcome.APPROVE_WITH_EDITS: "Approve with my edits",
    Outcome.REJECT: "Reject the request",
    Outcome.REQUEST_MORE_INFO: "Ask the customer",
    Outcome.ESCALATE: "Escalate to senior",
}


class DecisionForm(forms.Form):
    """The decision, split by outcome. The button pressed (``outcome``) says which part of
    the form counts. If the reviewer changed fields of *another* outcome (e.g. edited the
    amount, then pressed "Approve as proposed"), the form is refused — nothing is saved —
    and says which edits would be lost, unless they confirm with ``discard_other_edits``.

    Build it with ``initial`` (the drafted action and amount): an edit is a value that
    differs from what the page showed."""

    outcome = forms.ChoiceField(choices=Outcome.choices)
    version = forms.IntegerField(widget=forms.HiddenInput)
    approve_message = _text(
        "Message to the customer (optional)", 2, "Sent when the approval becomes final."
    )
    edit_action = forms.ChoiceField(choices=ACTION_CHOICES, required=False, label="Action")
    edit_amount = forms.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        min_value=0,
        required=False,
        label="Amount",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    edit_message = _text(
        "Message to the customer (optional)", 2, "Sent when the approval becomes final."
    )
    reject_reason = forms.ChoiceField(
        choices=[("", "— choose a reason —"), *RejectReason.choices],
        required=False,
        label="Reason",
    )
    reject_comment = _text("Comment (internal, required)", 2)
    reject_message = _text(
        "Message to the customer (optional)", 2, "Without one the standard denial is sent."
    )
    question = _text("Question to the customer", 3)
    escalate_note = _text("Note for the senior reviewer", 2)
    discard_other_edits = forms.BooleanField(
        required=False,
        label="Discard those edits and go ahead with the button I press",
    )

    def __init__(self, *args, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.other_edits: list[str] = []

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        if outcome not in OUTCOME_FIELDS:
            return cleaned
        # An edit is a field that was sent and differs from what the page showed (a field
        # not sent at all was not touched).
        self.other_edits = [
            name
            for name in self.changed_data
            if name in OUTCOME_OF_FIELD
            and OUTCOME_OF_FIELD[name] != outcome
            and self.add_prefix(name) in self.data
        ]
        if self.other_edits and not cleaned.get("discard_other_edits"):
            raise forms.ValidationError(self._other_edits_message(outcome), code="other_edits")
        for name, message in REQUIRED.get(outcome, {}).items():
            if name in cleaned and not cleaned[name]:
                self.add_error(name, message)
        return cleaned

    def _describe(self, name: str) -> str:
        field = self.fields[name]
        before, after = self.get_initial_for_field(field, name), self.cleaned_data.get(name)
        label = str(field.label).replace(" (optional)", "").replace(" (internal, required)", "")
        section = Outcome(OUTCOME_OF_FIELD[name]).label
        if name == "edit_amount":
            return f"{label} under “{section}”: {before} → {after} {self.currency}".strip()
        if name in ("edit_action", "reject_reason"):
            choices = dict(field.choices)  # type: ignore[attr-defined]
            before, after = choices.get(before, before), choices.get(after, after)
            return f"{label} under “{section}”: {before} → {after}"
        return f"{label} under “{section}”"

    def _other_edits_message(self, outcome: str) -> str:
        edits = "; ".join(self._describe(name) for name in self.other_edits)
        pressed = BUTTON_LABELS[outcome]
        return (
            f"Nothing was saved: you pressed “{pressed}”, but you also changed {edits}, which "
            f"“{pressed}” does not use. Press the button of the part you edited, undo the edit, "
            "or tick “Discard those edits” and press the button again."
        )


def decision_arguments(cleaned: dict) -> dict:
    """The ``reviews.services.review_decide`` arguments of a valid ``DecisionForm``: from the
    chosen outcome's own fields only."""
    outcome = cleaned["outcome"]
    args = {"outcome": outcome, "expected_version": cleaned["version"]}
    if outcome == Outcome.APPROVE:
        args["message"] = cleaned["approve_message"]
    elif outcome == Outcome.APPROVE_WITH_EDITS:
        args |= {
            "action": cleaned["edit_action"],
            "amount": cleaned["edit_amount"],
            "message": cleaned["edit_message"],
        }
    elif outcome == Outcome.REJECT:
        args |= {
            "reason_code": cleaned["reject_reason"],
            "comment": cleaned["reject_comment"],
            "message": cleaned["reject_message"],
        }
    elif outcome == Outcome.REQUEST_MORE_INFO:
        args["message"] = cleaned["question"]
    elif outcome == Outcome.ESCALATE:
        args["comment"] = cleaned["escalate_note"]
    return args


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


_WHEN = forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"})


class AbsenceForm(forms.Form):
    """A reviewer's absence (``reviews.services.reviewer_absence_set`` checks the rest):
    ``delegates`` are the people offered to stand in (who share a queue with them)."""

    starts_at = forms.DateTimeField(
        required=False, label="Away from", widget=_WHEN, help_text="Empty: from now."
    )
    ends_at = forms.DateTimeField(label="Back at", widget=_WHEN)
    delegate = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Stand-in",
        empty_label="Nobody: release my claimed tasks to the queue",
        help_text="Takes over your claimed tasks and your notifications while you are away.",
    )
    note = forms.CharField(required=False, max_length=200, label="Note (optional)")

    def __init__(self, *args, delegates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = delegates

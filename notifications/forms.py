"""The preferences form: a user's own channels, mode and kinds."""

from django import forms

from .models import NotificationPreference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = [
            "mode",
            "email_enabled",
            "slack_webhook_url",
            "escalated",
            "four_eyes",
            "sla_warning",
            "drift",
        ]
        widgets = {"mode": forms.RadioSelect}

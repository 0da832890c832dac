"""The preferences form: a user's own channels, mode and kinds."""

from django import forms

from .models import NotificationPreference
from .preferences import FIELDS


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = list(FIELDS)
        widgets = {"mode": forms.RadioSelect}

"""The counselor's form for a client's contact details and consent."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import validate_email

from alliance.web.messaging.models import ClinicMessaging, ConsentHow
from alliance.web.messaging.schedule import MAX_FOLLOW_UP_WEEKS, MAX_HOURS_BEFORE
from alliance.web.messaging.services import normalise_mobile


class ContactForm(forms.Form):
    email = forms.CharField(
        label="Email address", max_length=254, required=False, validators=[validate_email]
    )
    mobile = forms.CharField(
        label="Mobile number (international form, e.g. +44 7700 900123)",
        max_length=30,
        required=False,
    )
    first_name = forms.CharField(
        label="First name for greetings (used only if the clinic allows it)",
        max_length=60,
        required=False,
    )
    email_consent = forms.BooleanField(label="May be sent questions by email", required=False)
    sms_consent = forms.BooleanField(label="May be sent questions by SMS", required=False)
    consent_how = forms.ChoiceField(
        label="How the client agreed",
        choices=[("", "Not recorded"), *ConsentHow.choices],
        required=False,
    )
    consent_note = forms.CharField(
        label="Note on the consent (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_mobile(self) -> str:
        raw: str = self.cleaned_data["mobile"]
        return normalise_mobile(raw) if raw.strip() else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("email_consent") and not data.get("email"):
            self.add_error("email", "Enter the address the client agreed to be emailed at.")
        if data.get("sms_consent") and not data.get("mobile") and "mobile" not in self.errors:
            self.add_error("mobile", "Enter the number the client agreed to be texted at.")
        if (data.get("email_consent") or data.get("sms_consent")) and not data.get("consent_how"):
            self.add_error("consent_how", "Record how the client agreed to be contacted.")
        return data


class ScheduleForm(forms.ModelForm):
    """A clinic admin's messaging settings: the sender's name and the schedule's delays."""

    class Meta:
        model = ClinicMessaging
        fields = [
            "sender_name",
            "use_first_name",
            "scheduled",
            "hours_before",
            "at_session_end",
            "at_discharge",
            "reminder_hours",
            "follow_up_weeks",
        ]
        labels = {
            "sender_name": "Sender name in messages",
            "use_first_name": "Greet clients by first name",
            "scheduled": "Send the measure plan's questions automatically",
            "at_session_end": "Send end-of-session questions when the session ends",
            "at_discharge": "Send the satisfaction check at discharge",
        }
        help_texts = {  # the labels say it; the model's texts would repeat them
            "use_first_name": "",
            "scheduled": "Before and after sessions with a time, and at discharge",
            "at_session_end": "",
            "at_discharge": "",
        }

    hours_before = forms.IntegerField(
        label="Hours before a session to send its questions",
        min_value=1,
        max_value=MAX_HOURS_BEFORE,
    )
    reminder_hours = forms.IntegerField(
        label="Remind once after this many hours without an answer (0: never)",
        min_value=0,
        max_value=24 * 14,
    )
    follow_up_weeks = forms.IntegerField(
        label="Weeks after discharge to ask the outcome questions again (0: never)",
        help_text="A follow-up: its answers are shown apart from the end-of-treatment scores",
        min_value=0,
        max_value=MAX_FOLLOW_UP_WEEKS,
        required=False,
    )

    def clean_follow_up_weeks(self) -> int:
        """Left empty: no follow-up, as before the setting existed."""
        weeks: int | None = self.cleaned_data["follow_up_weeks"]
        return weeks or 0

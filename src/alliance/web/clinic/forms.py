"""Forms for clients, sessions, episode measure plans and the clinic's default plan."""

from __future__ import annotations

from typing import Any

from django import forms

from alliance.web.clinic.models import Ending, SessionStatus, Timing
from alliance.web.clinic.services import registry


class ClientForm(forms.Form):
    display_name = forms.CharField(label="Display name or initials", max_length=100, strip=True)
    external_id = forms.CharField(label="External id (optional)", max_length=100, required=False)


class SessionForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=SessionStatus.choices, initial=SessionStatus.SCHEDULED)
    starts_at = forms.TimeField(
        label="Time (optional)", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    duration_minutes = forms.IntegerField(
        label="Length (minutes)", min_value=5, max_value=600, initial=50, required=False
    )


class EndingForm(forms.Form):
    """Discharge asks how the episode ended: unplanned endings count as dropout."""

    ending = forms.ChoiceField(
        label="How did this episode end?", choices=[("", "Choose…"), *Ending.choices]
    )


class _InstrumentTimingForm(forms.Form):
    """An instrument whose text ships with the app, and when in an episode it is asked."""

    instrument = forms.ChoiceField(choices=())
    timing = forms.ChoiceField(choices=Timing.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ready = [(i.id, i.short_title) for i in registry().all() if i.has_text]
        self.fields["instrument"].choices = ready


class PlanItemForm(_InstrumentTimingForm):
    """Adds an instrument and timing to one episode's measure plan."""


class ClinicInstrumentAddForm(_InstrumentTimingForm):
    """Adds an instrument and timing to the clinic's default plan."""

    timing = forms.ChoiceField(label="When", choices=Timing.choices)


class ClinicInstrumentForm(forms.Form):
    enabled = forms.BooleanField(label="In use", required=False)
    order = forms.IntegerField(label="Order", min_value=0, max_value=99)

"""Forms for the clinic's default measure plan (``ClinicInstrument``)."""

from __future__ import annotations

from typing import Any

from django import forms

from alliance.web.clinic.models import Timing
from alliance.web.clinic.services import registry


class ClinicInstrumentAddForm(forms.Form):
    instrument = forms.ChoiceField(choices=())
    timing = forms.ChoiceField(label="When", choices=Timing.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ready = [(i.id, i.short_title) for i in registry().all() if i.has_text]
        self.fields["instrument"].choices = ready


class ClinicInstrumentForm(forms.Form):
    enabled = forms.BooleanField(label="In use", required=False)
    order = forms.IntegerField(label="Order", min_value=0, max_value=99)

"""The outcomes page's filters: period, team, counselor, outcome measure.

Team and counselor choices are only those the user may see (a supervisor's own team and its
counselors, a counselor only themselves), so an id outside that scope is an invalid choice,
the same answer as an id that does not exist.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from alliance.core.registry import Registry

#: The default period: episodes ended in the last year; the default measure.
DEFAULT_DAYS = 365
DEFAULT_INSTRUMENT = "phq9"


def outcome_choices(registry: Registry) -> list[tuple[str, str]]:
    """Outcome measures with a reliable-change criterion (change and recovery need one)."""
    return [
        (i.id, i.short_title)
        for i in registry.all()
        if i.kind == "outcome" and i.reliable_change is not None
    ]


class OutcomesFilter(forms.Form):
    start = forms.DateField(
        label="Ended from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="Ended until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    counselor = forms.TypedChoiceField(
        label="Counselor", required=False, coerce=int, empty_value=None
    )
    instrument = forms.ChoiceField(label="Outcome measure", required=False)

    def __init__(
        self,
        data: Any,
        *,
        teams: list[tuple[int, str]],
        counselors: list[tuple[int, str]],
        registry: Registry,
        today: datetime.date,
    ) -> None:
        super().__init__(data)
        self.today = today
        self.fields["team"].choices = [("", "All teams"), *teams]
        self.fields["counselor"].choices = [("", "All counselors"), *counselors]
        self.fields["instrument"].choices = outcome_choices(registry)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["end"] = data.get("end") or self.today
        data["start"] = data.get("start") or data["end"] - datetime.timedelta(days=DEFAULT_DAYS)
        data["instrument"] = data.get("instrument") or DEFAULT_INSTRUMENT
        if data["start"] > data["end"]:
            raise forms.ValidationError("The period must start before it ends.")
        return data

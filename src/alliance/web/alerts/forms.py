"""The acknowledgement form shown under each open alert."""

from __future__ import annotations

from django import forms


class AckForm(forms.Form):
    note = forms.CharField(
        label="Note", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), strip=True
    )

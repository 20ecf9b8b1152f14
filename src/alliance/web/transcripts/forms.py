"""The transcript upload form on a client's sessions page."""

from __future__ import annotations

from django import forms


class UploadForm(forms.Form):
    session = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    file = forms.FileField(label="Transcript file (WebVTT, SRT, text, JSON or CSV)")
    counselor = forms.CharField(
        label="Counselor's name in the transcript (optional; inferred when empty)",
        max_length=100,
        required=False,
        strip=True,
    )

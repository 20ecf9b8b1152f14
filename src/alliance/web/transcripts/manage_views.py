"""/manage/transcripts/: a clinic admin turns the research model pack on or off, and sets the
clinic's transcript and recording policies (what deleting a transcript removes, the largest
recording a counselor may upload, whether audio is deleted once transcribed); all audited.

Why: the research pack's empathy codes are licensed for non-commercial research only; only the
person answerable for the clinic may turn them on, knowingly (the terms are on the page and the
box must be ticked), and the audit log says who did it and when.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from alliance.core.transcripts.packs import PACKS, RESEARCH
from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page
from alliance.web.accounts.models import Clinic
from alliance.web.accounts.staff import require_clinic_admin
from alliance.web.audit.log import record
from alliance.web.limits import MAX_RECORDING_MB
from alliance.web.transcripts.models import ClinicTranscripts, research_pack_on

VIEW = "transcript_models_view"
POLICY = "transcript_policy_change"
ENABLE = "research_pack_enable"
DISABLE = "research_pack_disable"


class ResearchPackForm(forms.Form):
    """On/off, and (to turn it on) the admin's acceptance of the pack's terms."""

    research_pack = forms.BooleanField(required=False, label="Research pack on")
    accept_terms = forms.BooleanField(
        required=False, label="I have read the research pack's terms and this clinic meets them"
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("research_pack") and not data.get("accept_terms"):
            raise forms.ValidationError("To turn the research pack on, accept its terms.")
        return data


class PolicyForm(forms.ModelForm):
    """The clinic's transcript and recording policies (limits from the model's validators)."""

    class Meta:
        model = Clinic
        fields = ["transcript_deletion", "recording_max_mb", "delete_recordings"]
        labels = {
            "transcript_deletion": "Deleting a transcript removes",
            "recording_max_mb": "Largest recording a counselor may upload (MB)",
            "delete_recordings": "Delete a recording's audio as soon as its transcript exists",
        }
        help_texts = {
            "transcript_deletion": "Clinic policy for when staff delete a session transcript.",
            "recording_max_mb": f"From 1 to {MAX_RECORDING_MB} MB.",
            "delete_recordings": "Clinic policy; on by default.",
        }


@staff_page
@require_http_methods(["POST"])
def transcript_policy(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Save the policies; an invalid value shows the page again with the error."""
    require_clinic_admin(request, POLICY, "clinic")
    clinic = Clinic.objects.get(pk=request.user.clinic_id)
    form = PolicyForm(request.POST, instance=clinic)
    if not form.is_valid():
        record(request, POLICY, clinic, outcome="invalid")
        on = research_pack_on(clinic.pk)
        return _page(request, ResearchPackForm(initial={"research_pack": on}), on, form, 400)
    with transaction.atomic():
        form.save()
        record(request, POLICY, clinic)
    messages.success(request, "Transcript and recording policies saved.")
    return redirect("manage:transcript_models")


def _page(
    request: AuthenticatedHttpRequest,
    form: ResearchPackForm,
    on: bool,
    policy: PolicyForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "policy": policy,
        "on": on,
        "packs": list(PACKS.values()),
        "tab": "transcripts",
        "research": PACKS[RESEARCH],
        "max_recording_mb": MAX_RECORDING_MB,
    }
    return render(request, "transcripts/models_settings.html", context, status=status)


@staff_page
@require_http_methods(["GET", "POST"])
def transcript_models(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The switch; each change is recorded as its own audit action (enable / disable)."""
    require_clinic_admin(request, ENABLE if request.method == "POST" else VIEW, "clinictranscripts")
    prefs = ClinicTranscripts.objects.filter(clinic_id=request.user.clinic_id).first()
    on = bool(prefs and prefs.research_pack)
    form = ResearchPackForm(request.POST or None, initial={"research_pack": on})
    if request.method == "POST" and form.is_valid():
        wanted = bool(form.cleaned_data["research_pack"])
        if wanted != on:
            with transaction.atomic():
                saved, _ = ClinicTranscripts.objects.update_or_create(
                    clinic_id=request.user.clinic_id,
                    defaults={"research_pack": wanted, "changed_at": timezone.now()},
                )
                record(request, ENABLE if wanted else DISABLE, saved)
        messages.success(
            request,
            "Research pack on: new analyses include the empathy codes."
            if wanted
            else "Research pack off: no empathy codes are computed or shown.",
        )
        return redirect("manage:transcript_models")
    outcome = "invalid" if form.errors else "ok"
    record(request, VIEW, prefs, object_type="clinictranscripts", outcome=outcome)
    clinic = Clinic.objects.get(pk=request.user.clinic_id)
    return _page(request, form, on, PolicyForm(instance=clinic))

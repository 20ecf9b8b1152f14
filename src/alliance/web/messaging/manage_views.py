"""/manage/messaging/: a clinic admin's messaging settings (the schedule), audited."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page
from alliance.web.accounts.staff import require_clinic_admin
from alliance.web.audit.log import record
from alliance.web.messaging.forms import ScheduleForm
from alliance.web.messaging.models import ClinicMessaging

ACTION = "messaging_settings_change"


@staff_page
@require_http_methods(["GET", "POST"])
def schedule_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The form; saving records who changed the schedule (the values stay out of the log)."""
    action = ACTION if request.method == "POST" else "messaging_settings_view"
    require_clinic_admin(request, action, "clinicmessaging")
    prefs = ClinicMessaging.objects.filter(clinic_id=request.user.clinic_id).first()
    form = ScheduleForm(
        request.POST or None, instance=prefs or ClinicMessaging(clinic_id=request.user.clinic_id)
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        record(request, ACTION, saved)
        messages.success(request, "Messaging settings saved. The next scheduler round uses them.")
        return redirect("manage:messaging")
    outcome = "invalid" if form.errors else "ok"
    record(request, action, prefs, object_type="clinicmessaging", outcome=outcome)
    return render(request, "messaging/settings.html", {"form": form, "tab": "messaging"})

"""Acknowledging an alert: the counselor (or supervisor) notes what was done about it."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_post
from alliance.web.alerts.forms import AckForm
from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import acknowledge
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for


@staff_post
def acknowledge_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    alert = get_for(request, Alert, pk, write=True, action="alert_ack")
    form = AckForm(request.POST)
    if not form.is_valid():
        return render(request, "form_error.html", {"form": form}, status=400)
    done = acknowledge(alert, request.user, form.cleaned_data["note"])
    outcome = "ok" if done else "not_open"
    record(request, "alert_ack", alert, clinic_id=alert.client.clinic_id, outcome=outcome)
    return redirect("dashboard:client", pk=alert.client_id)

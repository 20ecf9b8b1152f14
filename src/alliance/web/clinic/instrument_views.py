"""The clinic's default measure plan, managed by its clinic admins in the app (audited).

New episodes copy the enabled instruments in this order; open episodes keep their own plans."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page, staff_post
from alliance.web.accounts.staff import require_clinic_admin
from alliance.web.audit.log import record
from alliance.web.clinic.forms import ClinicInstrumentAddForm, ClinicInstrumentForm
from alliance.web.clinic.models import ClinicInstrument
from alliance.web.clinic.services import (
    PlanRefused,
    add_clinic_instrument,
    ensure_clinic_instruments,
    registry,
    update_clinic_instrument,
)

ACTION = "instrument_plan_change"


@staff_page
@require_http_methods(["GET", "POST"])
def instruments(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The plan, with a form to add an instrument at a timing."""
    action = ACTION if request.method == "POST" else "instrument_plan_view"
    require_clinic_admin(request, action, "clinicinstrument")
    clinic = request.user.clinic
    form = ClinicInstrumentAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = add_clinic_instrument(
                clinic, form.cleaned_data["instrument"], form.cleaned_data["timing"]
            )
        except PlanRefused as exc:
            form.add_error(None, str(exc))
        else:
            record(request, ACTION, item)
            messages.success(request, "Instrument added to the plan.")
            return redirect("manage:instruments")
    outcome = "invalid" if form.errors else "ok"
    record(request, action, object_type="clinicinstrument", outcome=outcome)
    ensure_clinic_instruments(clinic)
    titles = {i.id: i.short_title for i in registry().all()}
    rows = [
        (item, titles.get(item.instrument, item.instrument)) for item in clinic.instruments.all()
    ]
    context = {"rows": rows, "form": form, "tab": "instruments"}
    return render(request, "clinic/instruments.html", context)


@staff_post
def instrument_update(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Switch one instrument of the plan on or off, or change its place in the order."""
    require_clinic_admin(request, ACTION, "clinicinstrument")
    item = ClinicInstrument.objects.filter(pk=pk, clinic_id=request.user.clinic_id).first()
    if item is None:
        record(request, ACTION, object_type="clinicinstrument", object_id=pk, outcome="denied")
        raise Http404("No such instrument in this clinic's plan")
    form = ClinicInstrumentForm(request.POST)
    if not form.is_valid():
        record(request, ACTION, item, outcome="invalid")
        messages.error(request, "Not saved: the order is a whole number from 0 to 99.")
    else:
        update_clinic_instrument(item, form.cleaned_data["enabled"], form.cleaned_data["order"])
        record(request, ACTION, item)
        messages.success(request, "Plan saved. New episodes use it; open ones keep theirs.")
    return redirect("manage:instruments")

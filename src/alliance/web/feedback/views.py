"""The client-facing pages: no account, one instrument per page, then thank-you.

Every way a link can be wrong (forged, used, expired, too many lookups) ends on a plain page
with a 4xx status, and the attempt is audited without the token itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from alliance.core.errors import InvalidAnswersError
from alliance.web.accounts.models import Throttle
from alliance.web.audit.log import client_ip, record
from alliance.web.feedback import services
from alliance.web.feedback.models import FeedbackLink

TABLET_KEY = "tablet_lock"

_PROBLEMS = {
    "forged": (404, "This link is not valid", "Please check the link, or ask your counselor."),
    "used": (410, "Already received", "Your answers were already received. Thank you."),
    "expired": (410, "This link has expired", "Please ask your counselor for a new link."),
    "limited": (429, "Please wait a moment", "Too many attempts. Please try again later."),
}


def problem(request: HttpRequest, kind: str) -> HttpResponse:
    status, title, message = _PROBLEMS[kind]
    return render(
        request,
        "feedback/problem.html",
        {"title": title, "message": message, "tablet": TABLET_KEY in request.session},
        status=status,
    )


def _open(request: HttpRequest, token: str) -> FeedbackLink | HttpResponse:
    if services.over_rate_limit(client_ip(request)):
        record(request, "link_open", object_type="feedbacklink", outcome="rate_limited")
        return problem(request, "limited")
    link = services.find_link(token)
    if link is None:
        services.count_miss(client_ip(request))
        record(request, "link_open", object_type="feedbacklink", outcome="forged")
        return problem(request, "forged")
    if link.state != "open":
        record(request, "link_open", link, clinic_id=_clinic(link), outcome=link.state)
        return problem(request, link.state)
    return link


def _clinic(link: FeedbackLink) -> int:
    return int(link.session.episode.client.clinic_id)


@never_cache
@require_http_methods(["GET"])
def start(request: HttpRequest, token: str) -> HttpResponse:
    found = _open(request, token)
    if isinstance(found, HttpResponse):
        return found
    record(request, "link_open", found, clinic_id=_clinic(found))
    for step, instrument_id in enumerate(found.instruments, start=1):
        if instrument_id not in found.draft:
            return redirect("feedback:step", token=token, step=step)
    return redirect("feedback:step", token=token, step=len(found.instruments))


@never_cache
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, token: str, step: int) -> HttpResponse:
    found = _open(request, token)
    if isinstance(found, HttpResponse):
        return found
    link = found
    instruments = services.link_instruments(link)
    if not 1 <= step <= len(instruments):
        return problem(request, "forged")
    instrument = instruments[step - 1]
    context: dict[str, Any] = {
        "instrument": instrument,
        "step": step,
        "steps": len(instruments),
        "last": step == len(instruments),
        "chosen": link.draft.get(instrument.id, {}),
        "token": token,
        "error": None,
    }
    if request.method == "GET":
        return _render_step(request, context)
    try:
        answers = services.parse_answers(instrument, request.POST)
    except InvalidAnswersError as exc:
        context.update(error=str(exc), chosen=dict(request.POST.items()))
        return _render_step(request, context, status=400)
    try:
        if not context["last"]:
            services.save_draft(link, instrument, answers)
            record(request, "link_answer", link, clinic_id=_clinic(link))
            return redirect("feedback:step", token=token, step=step + 1)
        services.submit(link, instrument, answers)
    except services.LinkGoneError as gone:
        record(request, "link_submit", link, clinic_id=_clinic(link), outcome=str(gone))
        return problem(request, str(gone))
    except InvalidAnswersError as exc:
        context.update(error=str(exc))
        return _render_step(request, context, status=400)
    record(request, "link_submit", link, clinic_id=_clinic(link))
    if TABLET_KEY in request.session:
        return redirect("feedback:locked")
    return redirect("feedback:thanks")


def _render_step(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """One instrument's page; each item with the option the client had chosen, if any."""
    chosen = {k: str(v) for k, v in context["chosen"].items() if v is not None}
    context["rows"] = [
        (n, item, chosen.get(item.id)) for n, item in enumerate(context["instrument"].items, 1)
    ]
    context["options"] = [(str(o.value), o.label) for o in context["instrument"].options]
    context["tablet"] = TABLET_KEY in request.session
    return render(request, "feedback/step.html", context, status=status)


@never_cache
def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/thanks.html")


@never_cache
@require_http_methods(["GET", "POST"])
def locked(request: HttpRequest) -> HttpResponse:
    """The tablet's locked screen: only the counselor's password returns to staff pages."""
    lock = request.session.get(TABLET_KEY)
    if lock is None or not request.user.is_authenticated:
        return redirect("accounts:login")
    error = None
    if request.method == "POST":
        key = f"unlock:{request.user.pk}"
        if request.user.check_password(request.POST.get("password", "")):
            Throttle.clear(key)
            del request.session[TABLET_KEY]
            record(request, "tablet_unlock", object_type="client", object_id=lock["client"])
            return redirect("dashboard:client", pk=lock["client"])
        if Throttle.hit(key, 900) >= 5:
            record(request, "tablet_unlock", object_type="client", outcome="locked_out")
            logout(request)
            return redirect("accounts:login")
        error = "That password is not right."
    return render(request, "feedback/locked.html", {"error": error}, status=400 if error else 200)

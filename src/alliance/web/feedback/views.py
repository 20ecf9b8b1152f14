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
from alliance.core.instruments import Instrument
from alliance.web.accounts.models import Throttle
from alliance.web.audit.log import client_ip, record
from alliance.web.feedback import drafts, services
from alliance.web.feedback.drafts import Draft
from alliance.web.feedback.models import FeedbackLink
from alliance.web.feedback.tablet import TABLET_KEY
from alliance.web.sessions import save_now

_PROBLEMS = {
    "forged": (404, "This link is not valid", "Please check the link, or ask your counselor."),
    "used": (410, "Already received", "Your answers were already received. Thank you."),
    "used_elsewhere": (
        410,
        "Already answered",
        "Answers were already sent with this link, perhaps from another device, so answers"
        " given here were not saved. If you did not send them, please tell your counselor.",
    ),
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


def _find(request: HttpRequest, token: str) -> FeedbackLink | HttpResponse:
    """The link for ``token``, or the page for an unknown one.

    A real link is looked up before the address's miss limit is applied, so clients sharing a
    clinic's address keep their links after someone there used up the limit. This leaks nothing
    useful: tokens are 256 random bits, so however many guesses an address makes past the limit,
    the chance that any is a real link is nil; the limit only bounds the load and audit rows."""
    link = services.find_link(token)
    if link is not None:
        return link
    verdict = services.count_miss(client_ip(request))
    if verdict == "audit":
        record(request, "link_open", object_type="feedbacklink", outcome="forged")
        return problem(request, "forged")
    if verdict == "summary":
        record(request, "link_open", object_type="feedbacklink", outcome="rate_limited")
    return problem(request, "limited")


def _gone(
    request: HttpRequest, link: FeedbackLink, state: str, given: Draft, action: str
) -> HttpResponse:
    """The page for a link that was used or expired; this browser's draft is dropped. Only the
    browser whose answers were recorded hears "already received" (a second tap on Submit is
    recognised by its answers); any other is told that what it gave was not saved."""
    drafts.drop(request.session, link)
    verdict = services.count_gone(client_ip(request))
    if verdict != "quiet":
        outcome = state if verdict == "audit" else "audit_limited"
        record(request, action, link, clinic_id=_clinic(link), outcome=outcome)
    if state != "used":
        return problem(request, state)
    session = request.session
    if drafts.was_sent(session, link) or (given and services.recorded_as_given(link, given)):
        drafts.mark_sent(session, link)
        return problem(request, "used")
    return problem(request, "used_elsewhere")


def _clinic(link: FeedbackLink) -> int:
    return int(link.session.episode.client.clinic_id)


@never_cache
@require_http_methods(["GET"])
def start(request: HttpRequest, token: str) -> HttpResponse:
    found = _find(request, token)
    if isinstance(found, HttpResponse):
        return found
    draft = drafts.get(request.session, found)
    if found.state != "open":
        return _gone(request, found, found.state, draft, "link_open")
    record(request, "link_open", found, clinic_id=_clinic(found))
    for step, instrument_id in enumerate(found.instruments, start=1):
        if instrument_id not in draft:
            return redirect("feedback:step", token=token, step=step)
    return redirect("feedback:step", token=token, step=len(found.instruments))


@never_cache
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, token: str, step: int) -> HttpResponse:
    found = _find(request, token)
    if isinstance(found, HttpResponse):
        return found
    link = found
    instruments = services.link_instruments(link)
    if not 1 <= step <= len(instruments):
        return problem(request, "forged")
    instrument = instruments[step - 1]
    draft = drafts.get(request.session, link)
    if link.state != "open":
        given = {**draft, **_posted(request, instrument)}
        return _gone(request, link, link.state, given, "link_open")
    context: dict[str, Any] = {
        "instrument": instrument,
        "step": step,
        "steps": len(instruments),
        "last": step == len(instruments),
        "chosen": draft.get(instrument.id, {}),
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
    if not context["last"]:
        drafts.keep(request.session, link, {**draft, instrument.id: answers})
        record(request, "link_answer", link, clinic_id=_clinic(link))
        return redirect("feedback:step", token=token, step=step + 1)
    try:
        services.submit(
            link,
            draft,
            instrument,
            answers,
            finish=lambda: _finish_submit(request, link),
        )
    except services.LinkGoneError as gone:
        return _gone(request, link, str(gone), {**draft, instrument.id: answers}, "link_submit")
    except InvalidAnswersError as exc:
        context.update(error=str(exc))
        return _render_step(request, context, status=400)
    if TABLET_KEY in request.session:
        return redirect("feedback:locked")
    return redirect("feedback:thanks")


def _finish_submit(request: HttpRequest, link: FeedbackLink) -> None:
    """Inside the submitting transaction: the audit event, and this browser forgets its answers
    and remembers it sent them (the session is saved here, so the submission commits once)."""
    record(request, "link_submit", link, clinic_id=_clinic(link))
    drafts.drop(request.session, link)
    drafts.mark_sent(request.session, link)
    save_now(request.session)


def _posted(request: HttpRequest, instrument: Instrument) -> Draft:
    """This page's posted answers, if it was a valid post (else nothing)."""
    if request.method != "POST":
        return {}
    try:
        return {instrument.id: services.parse_answers(instrument, request.POST)}
    except InvalidAnswersError:
        return {}


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
            drafts.clear(request.session)  # nothing of the client's answering stays behind
            record(request, "tablet_unlock", object_type="client", object_id=lock["client"])
            return redirect("dashboard:client", pk=lock["client"])
        if Throttle.hit(key, 900) >= 5:
            record(request, "tablet_unlock", object_type="client", outcome="locked_out")
            logout(request)
            return redirect("accounts:login")
        error = "That password is not right."
    return render(request, "feedback/locked.html", {"error": error}, status=400 if error else 200)

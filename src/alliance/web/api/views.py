"""The token page under the account area: list one's own tokens, create one (its secret shown
once, on the answer to the POST), revoke one. Only a signed-in session reaches it, so the
clinic's two-factor policy applies to whoever creates a token."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page, staff_post
from alliance.web.api import actions
from alliance.web.api.models import ApiToken, Scope
from alliance.web.api.services import DEFAULT_DAYS, TokenError, create_token, revoke
from alliance.web.audit.log import record


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, strip=True)
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.READ)
    days = forms.IntegerField(label="Expires after (days)", min_value=1, initial=DEFAULT_DAYS)

    def clean_days(self) -> int:
        days: int = self.cleaned_data["days"]
        if days > settings.ALLIANCE_API_TOKEN_MAX_DAYS:
            raise forms.ValidationError(f"At most {settings.ALLIANCE_API_TOKEN_MAX_DAYS} days.")
        return days


@staff_page
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's tokens; a valid POST creates one and shows its secret this once."""
    form = TokenForm(request.POST or None)
    secret = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            secret = _create(request, form)
            form = TokenForm()
        status = 200 if secret else 400
    listed = ApiToken.objects.filter(owner=request.user)
    context = {"form": form, "tokens": listed, "secret": secret}
    return render(request, "api/tokens.html", context, status=status)


def _create(request: AuthenticatedHttpRequest, form: TokenForm) -> str:
    data = form.cleaned_data
    try:
        issued = create_token(request.user, data["scope"], days=data["days"], name=data["name"])
    except TokenError as exc:
        form.add_error(None, str(exc))
        return ""
    record(request, actions.TOKEN_CREATE, issued.token)
    return issued.secret


@staff_post
def revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (anyone else's id is not found)."""
    token = ApiToken.objects.filter(owner=request.user, pk=pk).first()
    if token is None:
        record(
            request, actions.TOKEN_REVOKE, object_type="apitoken", object_id=pk, outcome="denied"
        )
        raise Http404("No such token")
    revoke(token)
    record(request, actions.TOKEN_REVOKE, token)
    return redirect("api:tokens")

"""URL map: staff pages, the client-facing feedback pages, and Django admin."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from alliance.web.accounts.views import AdminLockoutAuthenticationForm, AdminLoginView
from alliance.web.api.urls import api_urls
from alliance.web.operations.keycheck import health_problem


def healthz(request: HttpRequest) -> HttpResponse:
    """200 "ok" only when the database answers and the field keys decrypt it; else 503 and why."""
    problem = health_problem()
    if problem:
        return HttpResponse(problem, content_type="text/plain", status=503)
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "alliance administration"
admin.site.login_form = AdminLockoutAuthenticationForm

urlpatterns = [
    path("healthz", healthz),
    # Admin logs in through the app's login, so the lockout and the second factor apply there too.
    path("admin/login/", AdminLoginView.as_view(), name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("alliance.web.api.urls")),
    *api_urls,
    path("accounts/", include("alliance.web.accounts.urls")),
    path("manage/", include("alliance.web.manage_urls")),
    path("", include("alliance.web.feedback.urls")),
    path("", include("alliance.web.messaging.urls")),
    path("", include("alliance.web.dashboard.urls")),
    path("", include("alliance.web.outcomes.urls")),
    path("", include("alliance.web.clinic.urls")),
    path("", include("alliance.web.alerts.urls")),
    path("", include("alliance.web.transcripts.urls")),
]

handler400 = "alliance.web.errors.bad_request"
handler403 = "alliance.web.errors.forbidden"
handler404 = "alliance.web.errors.not_found"
handler500 = "alliance.web.errors.server_error"

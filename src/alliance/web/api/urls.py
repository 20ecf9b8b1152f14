"""The token page (account area), the REST API under /api/v1/ and the FHIR reads under
/fhir/R4/."""

from django.urls import path

from alliance.web.api import views
from alliance.web.api.endpoints import api
from alliance.web.api.fhir_endpoints import fhir_api

app_name = "api"

urlpatterns = [
    path("accounts/tokens/", views.tokens, name="tokens"),
    path("accounts/tokens/<int:pk>/revoke/", views.revoke_view, name="token_revoke"),
]

#: Mounted by the project's URL map beside ``urlpatterns`` (ninja brings its own namespaces).
api_urls = [path("api/v1/", api.urls), path("fhir/R4/", fhir_api.urls)]

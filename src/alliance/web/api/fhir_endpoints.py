"""FHIR R4 reads under ``/fhir/R4/`` with the same bearer tokens, scopes, rate limit and audit
as the JSON API; the resources are built by ``alliance.web.interop.fhir`` (and the core's FHIR
module), and every client is resolved through ``alliance.web.clinic.access`` first.

Answers are ``application/fhir+json``; refusals are ``OperationOutcome`` resources with the same
status codes as the JSON API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Query

from alliance.web.api import actions, handlers
from alliance.web.api.auth import TokenAuth, staff
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.models import Client
from alliance.web.interop.fhir import (
    EXPORT_ACTION,
    client_bundle,
    questionnaire_responses_bundle,
    questionnaires_bundle,
)

FHIR_JSON = "application/fhir+json"
#: FHIR issue types (https://hl7.org/fhir/R4/valueset-issue-type.html) for each refusal.
ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 422: "invalid", 429: "throttled"}
#: ``patient=`` takes a reference (``Patient/7``) or a bare id.
PATIENT_PATTERN = r"^(Patient/)?[0-9]{1,19}$"

fhir_api = NinjaAPI(
    title="alliance FHIR R4 (read only)",
    version="R4",
    description="Patients' answers and the instruments as FHIR R4 resources (docs/api.md).",
    auth=TokenAuth(),
    urls_namespace="fhir_r4",
    docs_url=None,
)


def operation_outcome(
    api: NinjaAPI, request: HttpRequest, status: int, detail: Any
) -> HttpResponse:
    """A refusal as a FHIR OperationOutcome."""
    text = detail if isinstance(detail, str) else "invalid parameters"
    issue = {
        "severity": "error",
        "code": ISSUE_CODES.get(status, "processing"),
        "diagnostics": text,
    }
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return JsonResponse(body, status=status, content_type=FHIR_JSON)


handlers.install(fhir_api, operation_outcome)


def _answers(resource: str) -> dict[str, Any]:
    """The OpenAPI responses of a FHIR read: ``resource`` or an OperationOutcome, as FHIR JSON."""

    def body(description: str, kind: str) -> dict[str, Any]:
        schema = {
            "type": "object",
            "required": ["resourceType"],
            "properties": {"resourceType": {"type": "string", "enum": [kind]}},
        }
        return {"description": description, "content": {FHIR_JSON: {"schema": schema}}}

    refusals = {
        str(code): body(f"refused ({issue})", "OperationOutcome")
        for code, issue in ISSUE_CODES.items()
        if code != 403
    }
    return {"responses": {"200": body(resource, "Bundle"), **refusals}}


def fhir_json(resource: dict[str, Any]) -> HttpResponse:
    return JsonResponse(resource, content_type=FHIR_JSON)


@fhir_api.get(
    "/Patient/{patient_id}/$everything",
    openapi_extra=_answers(
        "a collection Bundle: the Patient, QuestionnaireResponses, Observations"
    ),
    tags=["fhir"],
)
def patient_everything(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Everything about one client the token's user may read (audited as an export)."""
    client = get_for(staff(request), Client, patient_id, action=EXPORT_ACTION)
    return fhir_json(client_bundle(staff(request).user, client))


@fhir_api.get(
    "/QuestionnaireResponse",
    openapi_extra=_answers("a searchset Bundle of the client's QuestionnaireResponses"),
    tags=["fhir"],
)
def questionnaire_responses(
    request: HttpRequest, patient: str = Query(..., pattern=PATIENT_PATTERN)
) -> HttpResponse:
    """``QuestionnaireResponse?patient=Patient/7``: one client's answered measures."""
    client = get_for(staff(request), Client, patient.removeprefix("Patient/"))
    return fhir_json(questionnaire_responses_bundle(staff(request).user, client))


@fhir_api.get(
    "/Questionnaire",
    openapi_extra=_answers("a searchset Bundle of every instrument's Questionnaire"),
    tags=["fhir"],
)
def questionnaires(request: HttpRequest) -> HttpResponse:
    """Every instrument as a Questionnaire (licensed wording only where the site added it)."""
    record(staff(request), actions.LIST, object_type="api", object_id="questionnaire")
    return fhir_json(questionnaires_bundle())

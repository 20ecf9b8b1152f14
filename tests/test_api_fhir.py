"""FHIR R4 reads over the API: the same tokens, the same visibility (another counselor's or
clinic's patient is 404), FHIR JSON answers and OperationOutcome refusals, audited."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from alliance.web.api.services import create_token
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.services import record_administration, registry

from .web_fixtures import PHQ9_RISK, World, with_session

pytestmark = pytest.mark.web

FHIR_JSON = "application/fhir+json"


def bearer(world: World, role: str = "counselor") -> HttpClient:
    secret = create_token(world.user(role), "read").secret
    return HttpClient(headers={"Authorization": f"Bearer {secret}"})


def test_everything_about_an_own_patient(world: World) -> None:
    record_administration(with_session(world.own), registry().get("phq9"), PHQ9_RISK, "staff")
    got = bearer(world).get(f"/fhir/R4/Patient/{world.own.pk}/$everything")
    assert got.status_code == 200 and got["Content-Type"].startswith(FHIR_JSON)
    bundle = got.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Patient") == 1 and "QuestionnaireResponse" in kinds
    events = AuditEvent.objects.filter(action="fhir_export", user=world.counselor, outcome="ok")
    assert events.filter(object_type="client", object_id=str(world.own.pk)).exists()


def test_questionnaire_responses_by_reference_or_bare_id(world: World) -> None:
    record_administration(with_session(world.own), registry().get("phq9"), PHQ9_RISK, "staff")
    http = bearer(world)
    for patient in (f"Patient/{world.own.pk}", str(world.own.pk)):
        got = http.get(f"/fhir/R4/QuestionnaireResponse?patient={patient}")
        assert got.status_code == 200 and got["Content-Type"].startswith(FHIR_JSON)
        bundle = got.json()
        assert bundle["type"] == "searchset"
        kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
        assert kinds == {"QuestionnaireResponse"}


def test_questionnaires(world: World) -> None:
    bundle = bearer(world).get("/fhir/R4/Questionnaire").json()
    assert bundle["type"] == "searchset" and len(bundle["entry"]) >= 4
    assert AuditEvent.objects.filter(action="api_list", object_id="questionnaire").exists()


@pytest.mark.parametrize("relation", ["teammate", "other_team", "other_clinic"])
def test_another_counselors_or_clinics_patient_is_not_found(world: World, relation: str) -> None:
    http = bearer(world)
    pk = world.client_for(relation).pk
    for url in (
        f"/fhir/R4/Patient/{pk}/$everything",
        f"/fhir/R4/QuestionnaireResponse?patient={pk}",
    ):
        got = http.get(url)
        assert got.status_code == 404 and got["Content-Type"].startswith(FHIR_JSON), url
        outcome = got.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "not-found"


def test_a_supervisor_reads_the_teams_patients(world: World) -> None:
    url = f"/fhir/R4/Patient/{world.teammate.pk}/$everything"
    assert bearer(world, "supervisor").get(url).status_code == 200


def test_refusals_are_operation_outcomes(world: World) -> None:
    missing = HttpClient().get("/fhir/R4/Questionnaire")
    assert missing.status_code == 401 and missing.json()["issue"][0]["code"] == "login"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    invalid = bearer(world).get("/fhir/R4/QuestionnaireResponse?patient=Practitioner/1")
    assert invalid.status_code == 422 and invalid.json()["issue"][0]["code"] == "invalid"
    assert bearer(world).get("/fhir/R4/QuestionnaireResponse").status_code == 422

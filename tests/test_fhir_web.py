"""The web app's records as FHIR bundles, read through the access layer: what each role may
export, and that the bundles validate as FHIR R4 (fhir.resources' R4B models)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from fhir.resources.R4B.bundle import Bundle

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Session
from alliance.web.clinic.services import record_administration, registry
from alliance.web.interop import fhir
from alliance.web.interop.fhir import (
    EXPORT_ACTION,
    client_bundle,
    clinic_bundle,
    export_resources,
    questionnaire_responses_bundle,
    questionnaires_bundle,
)

from .web_fixtures import ALLIANCE_ANSWERS, GAD7_ANSWERS, PHQ9_RISK, World

pytestmark = pytest.mark.web


def kinds(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["resourceType"] for entry in bundle["entry"]]


def answered(client: Client) -> None:
    session = Session.objects.get(episode__client=client)
    reg = registry()
    for instrument, answers in (
        ("phq9", PHQ9_RISK),
        ("gad7", GAD7_ANSWERS),
        ("alliance_check", ALLIANCE_ANSWERS),
    ):
        record_administration(session, reg.get(instrument), answers, "staff")


def test_client_bundle_holds_the_record(world: World) -> None:
    answered(world.own)
    bundle = client_bundle(world.counselor, world.own)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    assert kinds(bundle) == ["Patient", *["QuestionnaireResponse", "Observation"] * 3]
    patient = bundle["entry"][0]["resource"]
    assert patient["name"] == [{"text": "Alex Own"}]
    totals = {
        e["resource"]["code"]["coding"][0]["code"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert totals["44261-6"]["valueQuantity"]["value"] == 18
    assert totals["44261-6"]["interpretation"][0]["text"] == "Moderately severe"
    assert totals["70274-6"]["valueQuantity"]["value"] == 7
    assert totals["alliance_check-total"]["valueQuantity"]["value"] == 4.4


@pytest.mark.parametrize("relation", ["teammate", "other_team", "other_clinic"])
def test_a_counselor_cannot_export_another_counselors_client(world: World, relation: str) -> None:
    client = world.client_for(relation)
    answered(client)
    with pytest.raises(Http404):
        client_bundle(world.counselor, client)
    with pytest.raises(Http404):
        questionnaire_responses_bundle(world.counselor, client)


def test_a_supervisor_exports_the_team(world: World) -> None:
    answered(world.teammate)
    assert "Patient" in kinds(client_bundle(world.supervisor, world.teammate))
    with pytest.raises(Http404):
        client_bundle(world.supervisor, world.other_team)


def test_clinic_bundle_is_what_the_user_may_see(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fhir, "CHUNK", 2)  # three clinic clients: two chunks
    answered(world.own)
    answered(world.foreign)
    admin = clinic_bundle(world.admin)
    Bundle.model_validate(admin)
    patients = {
        e["resource"]["id"] for e in admin["entry"] if e["resource"]["resourceType"] == "Patient"
    }
    clinic_ids = {str(c.pk) for c in (world.own, world.teammate, world.other_team)}
    assert patients == clinic_ids
    assert kinds(admin).count("QuestionnaireResponse") == 3
    assert kinds(clinic_bundle(world.counselor)).count("Patient") == 1


def test_searchsets(world: World) -> None:
    answered(world.own)
    responses = questionnaire_responses_bundle(world.counselor, world.own)
    Bundle.model_validate(responses)
    assert (responses["type"], responses["total"]) == ("searchset", 3)
    assert set(kinds(responses)) == {"QuestionnaireResponse"}
    questionnaires = questionnaires_bundle()
    Bundle.model_validate(questionnaires)
    assert questionnaires["total"] == 7


def test_export_is_one_audit_event(world: World) -> None:
    before = AuditEvent.objects.count()
    list(export_resources(world.admin))
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event is not None
    assert (event.action, event.object_type, event.username) == (EXPORT_ACTION, "clinic", "admin_a")
    list(export_resources(world.counselor, world.own.pk))
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert (event.action, event.object_type, event.object_id) == (
        EXPORT_ACTION,
        "client",
        str(world.own.pk),
    )
    with pytest.raises(Http404):
        export_resources(world.counselor, world.teammate.pk)
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert (event.action, event.outcome) == (EXPORT_ACTION, "denied")
    assert AuditEvent.objects.count() == before + 3

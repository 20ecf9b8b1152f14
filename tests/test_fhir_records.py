"""The record builders on plain data: Patient, QuestionnaireResponse, Observation and Bundle
validate as FHIR R4 (fhir.resources' R4B models) and carry the codes the instruments give."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from alliance.core.fhir import (
    AdministrationRecord,
    PatientRecord,
    build_bundle,
    build_observation,
    build_patient,
    build_questionnaire_response,
    codes,
    record_resources,
    write_bundle,
)
from alliance.core.instruments import Instrument
from alliance.core.scoring import score

WHEN = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)
PATIENT = PatientRecord(id="7", clinic_id="1", display_name="A. B.", external_id="MRN-1")


def administered(
    instrument: Instrument, answers: dict[str, Any], pk: str = "11"
) -> AdministrationRecord:
    """A record as the web app stores one: the answers and the core's score of them."""
    result = score(instrument, answers)
    return AdministrationRecord(
        id=pk,
        patient_id=PATIENT.id,
        instrument=instrument,
        authored=WHEN,
        answers=answers,
        total=result.total,
        severity=result.severity,
        severity_label=result.severity_label,
    )


def test_patient() -> None:
    patient = build_patient(PATIENT)
    Patient.model_validate(patient)
    assert patient["name"] == [{"text": "A. B."}]
    assert patient["identifier"] == [
        {"system": f"{codes.CLINIC_BASE}/1/external-id", "value": "MRN-1"}
    ]


def test_phq9_response_and_total(phq9: Instrument) -> None:
    answers = {f"phq9_{n}": 2 for n in range(1, 10)} | {"phq9_9": None}
    record = administered(phq9, answers)
    response = build_questionnaire_response(record)
    QuestionnaireResponse.model_validate(response)
    by_link = {item["linkId"]: item for item in response["item"]}
    assert "phq9_9" not in by_link  # a missing answer is left out, not invented
    assert by_link["phq9_1"]["answer"] == [
        {
            "valueCoding": {
                "system": codes.LOINC,
                "code": "LA6570-1",
                "display": "More than half the days",
            }
        }
    ]
    assert by_link["total"]["answer"] == [{"valueDecimal": 18.0}]  # 16 prorated from 8 of 9
    observation = build_observation(record)
    assert observation is not None
    Observation.model_validate(observation)
    assert observation["code"]["coding"][0]["code"] == "44261-6"
    assert observation["valueQuantity"]["value"] == 18.0
    assert observation["interpretation"][0]["coding"][0]["code"] == "phq9-moderately_severe"
    assert observation["interpretation"][0]["text"] == "Moderately severe"
    assert observation["derivedFrom"] == [{"reference": "QuestionnaireResponse/11"}]


def test_gad7_total_code(gad7: Instrument) -> None:
    observation = build_observation(administered(gad7, {f"gad7_{n}": 1 for n in range(1, 8)}))
    assert observation is not None
    assert observation["code"]["coding"][0]["code"] == "70274-6"
    assert observation["interpretation"][0]["text"] == "Mild"


def test_project_check_total_and_unscorable(instruments: dict[str, Instrument]) -> None:
    check = instruments["alliance_check"]
    answers = {"ac_heard": 4, "ac_respect": 5, "ac_trust": 4, "ac_goals": 4, "ac_tasks": 5}
    observation = build_observation(administered(check, answers))
    assert observation is not None
    Observation.model_validate(observation)
    assert observation["code"]["coding"][0]["system"] == codes.CODE_SYSTEM
    assert observation["code"]["coding"][0]["code"] == "alliance_check-total"
    assert observation["valueQuantity"]["value"] == 4.4
    unscorable = administered(check, {"ac_heard": 4, "ac_respect": None, "ac_trust": None})
    assert build_observation(unscorable) is None
    nothing = administered(check, dict.fromkeys(answers))
    assert "item" not in build_questionnaire_response(nothing)  # FHIR JSON has no empty arrays


def test_range_answers_are_decimals(instruments: dict[str, Instrument]) -> None:
    srs = instruments["srs"]
    record = administered(srs, {"srs_1": 9.5, "srs_2": 8.0, "srs_3": 9.1, "srs_4": 7.2})
    response = build_questionnaire_response(record)
    QuestionnaireResponse.model_validate(response)
    assert response["item"][0] == {"linkId": "srs_1", "answer": [{"valueDecimal": 9.5}]}


def test_bundles(phq9: Instrument, gad7: Instrument) -> None:
    records = [
        administered(phq9, {f"phq9_{n}": 1 for n in range(1, 10)}, "1"),
        administered(gad7, {f"gad7_{n}": 0 for n in range(1, 8)}, "2"),
    ]
    resources = record_resources(PATIENT, records)
    collection = build_bundle(resources, "collection", "https://example.org/fhir/R4/")
    Bundle.model_validate(collection)
    kinds = [e["resource"]["resourceType"] for e in collection["entry"]]
    assert kinds == ["Patient", *["QuestionnaireResponse", "Observation"] * 2]
    assert collection["entry"][0]["fullUrl"] == "https://example.org/fhir/R4/Patient/7"
    searchset = build_bundle([build_questionnaire_response(r) for r in records], "searchset")
    Bundle.model_validate(searchset)
    assert searchset["total"] == 2
    assert searchset["entry"][0]["search"] == {"mode": "match"}


def test_written_bundle_is_the_built_one(phq9: Instrument) -> None:
    records = [administered(phq9, {f"phq9_{n}": 3 for n in range(1, 10)}, str(n)) for n in (1, 2)]
    handle = io.StringIO()
    written = write_bundle(handle, record_resources(PATIENT, records), "https://example.org/R4")
    assert written == {"Patient": 1, "QuestionnaireResponse": 2, "Observation": 2}
    streamed = json.loads(handle.getvalue())
    Bundle.model_validate(streamed)
    built = build_bundle(record_resources(PATIENT, records), "collection", "https://example.org/R4")
    assert streamed["entry"] == built["entry"]
    assert streamed["type"] == "collection"
    empty = io.StringIO()
    assert write_bundle(empty, []) == {}
    assert "entry" not in json.loads(empty.getvalue())  # FHIR JSON has no empty arrays
    assert build_bundle([], "searchset")["total"] == 0

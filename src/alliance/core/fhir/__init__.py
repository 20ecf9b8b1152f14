"""FHIR R4 out and in, without a framework: plain dicts in the shape of FHIR JSON.

``questionnaire`` turns an instrument into a Questionnaire, ``records`` a client's record into
Patient, QuestionnaireResponse, Observation and Bundle resources, ``importer`` a Questionnaire
back into an instrument definition. Codes and URLs: ``codes`` (docs/fhir.md).
"""

from alliance.core.fhir.questionnaire import build_questionnaire, definition_of
from alliance.core.fhir.records import (
    AdministrationRecord,
    PatientRecord,
    build_bundle,
    build_observation,
    build_patient,
    build_questionnaire_response,
    record_resources,
    write_bundle,
)

__all__ = [
    "AdministrationRecord",
    "PatientRecord",
    "build_bundle",
    "build_observation",
    "build_patient",
    "build_questionnaire",
    "build_questionnaire_response",
    "definition_of",
    "record_resources",
    "write_bundle",
]

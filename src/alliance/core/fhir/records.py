"""A client's record as FHIR R4: ``Patient``, ``QuestionnaireResponse``, ``Observation``, ``Bundle``.

The builders take plain data (the dataclasses below and core :class:`Instrument` objects), so
the web app, a script or a test can export without Django. References are relative
(``Patient/12``); a bundle's ``fullUrl`` is the server ``base`` plus that reference.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from alliance.core.fhir import codes
from alliance.core.fhir.questionnaire import canonical_url
from alliance.core.instruments import Instrument


@dataclass(frozen=True)
class PatientRecord:
    """The client as FHIR needs it: an id, the display name and the clinic's own id for them."""

    id: str
    clinic_id: str
    display_name: str = ""
    external_id: str = ""
    active: bool = True


@dataclass(frozen=True)
class AdministrationRecord:
    """One completed administration: the answers by item id and the core's stored score."""

    id: str
    patient_id: str
    instrument: Instrument
    authored: datetime.datetime
    answers: Mapping[str, float | None]
    total: float | None = None
    severity: str | None = None
    severity_label: str | None = None


def build_patient(patient: PatientRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient.id,
        "active": patient.active,
    }
    if patient.display_name:
        resource["name"] = [{"text": patient.display_name}]
    if patient.external_id:
        system = f"{codes.CLINIC_BASE}/{patient.clinic_id}/external-id"
        resource["identifier"] = [{"system": system, "value": patient.external_id}]
    return resource


def build_questionnaire_response(record: AdministrationRecord) -> dict[str, Any]:
    """The answers with their codes (LOINC LA codes where the instrument has them) and total."""
    instrument = record.instrument
    items = [
        _answer_item(instrument, item.id, record.answers[item.id])
        for item in instrument.items
        if record.answers.get(item.id) is not None
    ]
    if record.total is not None:
        total = codes.total_coding(instrument)
        items.append(
            {
                "linkId": codes.TOTAL_LINK,
                "text": total["display"],
                "answer": [{"valueDecimal": record.total}],
            }
        )
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": record.id,
        "questionnaire": f"{canonical_url(instrument.id)}|{instrument.version}",
        "status": "completed",
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "authored": record.authored.isoformat(),
    }
    if items:  # FHIR JSON has no empty arrays
        response["item"] = items
    return response


def _answer_item(instrument: Instrument, item_id: str, value: float | None) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": item_id}
    text = instrument.item(item_id).text
    if text:
        item["text"] = text
    coded = codes.answer_coding(instrument, value) if value is not None else None
    item["answer"] = [{"valueCoding": coded} if coded else {"valueDecimal": value}]
    return item


def observation_id(record: AdministrationRecord) -> str:
    return f"{record.id}-total"


def build_observation(record: AdministrationRecord) -> dict[str, Any] | None:
    """The total score with its severity band as ``interpretation``; None when unscorable."""
    if record.total is None:
        return None
    instrument = record.instrument
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(record),
        "status": "final",
        "category": [{"coding": [codes.coding(codes.OBSERVATION_CATEGORY, codes.SURVEY)]}],
        "code": {"coding": [codes.total_coding(instrument)]},
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "effectiveDateTime": record.authored.isoformat(),
        "valueQuantity": {
            "value": record.total,
            "unit": codes.SCORE_UNIT,
            "system": codes.UCUM,
            "code": codes.SCORE_UNIT,
        },
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{record.id}"}],
    }
    if record.severity:
        band = codes.coding(
            codes.CODE_SYSTEM, f"{instrument.id}-{record.severity}", record.severity_label
        )
        resource["interpretation"] = [{"coding": [band], "text": record.severity_label}]
    return resource


def record_resources(
    patient: PatientRecord, administrations: Iterable[AdministrationRecord]
) -> list[dict[str, Any]]:
    """Patient, then each administration's QuestionnaireResponse and Observation."""
    resources = [build_patient(patient)]
    for record in administrations:
        resources.append(build_questionnaire_response(record))
        observation = build_observation(record)
        if observation is not None:
            resources.append(observation)
    return resources


def build_bundle(
    resources: Iterable[dict[str, Any]], bundle_type: str = "collection", base: str = ""
) -> dict[str, Any]:
    """A ``collection`` or ``searchset`` Bundle (a searchset states its match count)."""
    entries = [_entry(resource, bundle_type, base) for resource in resources]
    bundle = _bundle_head(bundle_type)
    if bundle_type == "searchset":
        bundle["total"] = len(entries)
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


def write_bundle(
    handle: TextIO, resources: Iterable[dict[str, Any]], base: str = ""
) -> Counter[str]:
    """Write a ``collection`` Bundle to ``handle`` one entry at a time, so a clinic's export
    never sits in memory whole; the count of each resource type written."""
    head = json.dumps(_bundle_head("collection"), ensure_ascii=False)
    handle.write(head[:-1])  # FHIR JSON has no empty arrays: "entry" opens with the first
    written: Counter[str] = Counter()
    for resource in resources:
        handle.write(",\n" if written else ', "entry": [\n')
        handle.write(json.dumps(_entry(resource, "collection", base), ensure_ascii=False))
        written[resource["resourceType"]] += 1
    handle.write("\n]}\n" if written else "}\n")
    return written


def _bundle_head(bundle_type: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _entry(resource: dict[str, Any], bundle_type: str, base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if base:
        entry["fullUrl"] = f"{base.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
    entry["resource"] = resource
    if bundle_type == "searchset":
        entry["search"] = {"mode": "match"}
    return entry

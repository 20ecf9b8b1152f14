"""Code systems, extension URLs and codes the FHIR builders use, each defined once here.

LOINC codes themselves live in the instrument files (``loinc:`` keys); this module only names the
systems. Anything LOINC does not code (the project's own checks, items and totals without a LOINC
code, severity bands) is coded under :data:`CODE_SYSTEM`, the project's code system.
"""

from __future__ import annotations

from alliance.core.instruments import Instrument

#: LOINC (https://loinc.org/fhir/): panels, items, totals and LA answer codes.
LOINC = "http://loinc.org"
#: UCUM (https://ucum.org), with the annotation unit ``{score}`` for questionnaire scores.
UCUM = "http://unitsofmeasure.org"
SCORE_UNIT = "{score}"
#: FHIR R4 observation-category "survey" (https://hl7.org/fhir/R4/codesystem-observation-category.html).
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SURVEY = "survey"

#: The project's canonical base. ``.invalid`` (RFC 2606) until the project publishes a site:
#: the URLs are names, not addresses, and a receiving system must not try to resolve them.
PROJECT_BASE = "https://alliance.invalid/fhir"
#: The project code system: instrument ids, item ids, ``<instrument>-total`` and
#: ``<instrument>-<band>`` codes, ``<instrument>-<value>`` answer codes.
CODE_SYSTEM = f"{PROJECT_BASE}/CodeSystem/alliance"
#: Questionnaire.identifier system whose value is the alliance instrument id.
INSTRUMENT_ID_SYSTEM = f"{PROJECT_BASE}/instrument-id"
#: Patient.identifier system prefix for a clinic's external ids (``.../clinic/<id>/external-id``).
CLINIC_BASE = f"{PROJECT_BASE}/clinic"

# Extensions of the project (docs/fhir.md): the scoring rules FHIR has no element for.
EXT_RULES = f"{PROJECT_BASE}/StructureDefinition/instrument-rules"
EXT_SUBSCALE = f"{PROJECT_BASE}/StructureDefinition/item-subscale"
EXT_REVERSE = f"{PROJECT_BASE}/StructureDefinition/item-reverse-scored"

# Core FHIR and SDC extensions (https://hl7.org/fhir/R4/extensibility-registry.html).
EXT_ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
EXT_ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
EXT_DECIMALS = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
EXT_CALCULATED = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)

#: The Questionnaire linkId of the instructions (a display item) and of the total (read only).
INSTRUCTIONS_LINK = "instructions"
TOTAL_LINK = "total"


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def item_coding(instrument: Instrument, item_id: str) -> dict[str, str]:
    """An item's LOINC code, else its id in the project code system."""
    loinc = instrument.item(item_id).loinc
    return coding(LOINC, loinc) if loinc else coding(CODE_SYSTEM, item_id)


def answer_coding(instrument: Instrument, value: float) -> dict[str, str] | None:
    """The coding of an answer option (LOINC LA code, else ``<instrument>-<value>``)."""
    for option in instrument.options:
        if option.value == value:
            if option.loinc:
                return coding(LOINC, option.loinc, option.label)
            return coding(CODE_SYSTEM, f"{instrument.id}-{option.value}", option.label)
    return None


def total_coding(instrument: Instrument) -> dict[str, str]:
    """The total score's LOINC code (PHQ-9 44261-6, GAD-7 70274-6), else the project's."""
    if instrument.loinc_total:
        return coding(LOINC, instrument.loinc_total, f"{instrument.short_title} total score")
    return coding(CODE_SYSTEM, f"{instrument.id}-total", f"{instrument.short_title} total score")


def resource_id(text: str) -> str:
    """A FHIR id (``[A-Za-z0-9.-]{1,64}``) from an alliance id, which may hold underscores."""
    return text.replace("_", "-")[:64]

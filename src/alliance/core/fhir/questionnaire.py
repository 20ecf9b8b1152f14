"""An instrument as a FHIR R4 ``Questionnaire``, carrying everything its file says.

What FHIR has elements for travels in them (LOINC codes, answer options with their scores as
``ordinalValue``, ranges, instructions, licence as ``copyright``); the scoring rules it has none
for (bands, cutoffs, missing-answer rule, sources) travel as one project extension holding them
as JSON, so another alliance site reads the instrument back unchanged (``alliance instruments
import-fhir``). Item wording is whatever the given instrument holds: a licensed instrument
without the site's licensed text has none, and none is emitted.
"""

from __future__ import annotations

import json
from typing import Any

from alliance.core.fhir import codes
from alliance.core.instruments import Instrument, Item

#: Keys of an instrument file that FHIR elements carry; the rest go into ``EXT_RULES`` (the
#: response range too: FHIR's minValue/maxValue/maxDecimalPlaces say it, but not its exact step).
NATIVE_KEYS = frozenset(
    {"id", "version", "title", "licence", "instructions", "loinc", "items", "response_options",
     }
)  # fmt: skip


def canonical_url(instrument_id: str) -> str:
    return f"{codes.PROJECT_BASE}/Questionnaire/{codes.resource_id(instrument_id)}"


def definition_of(instrument: Instrument) -> dict[str, Any]:
    """The instrument as the mapping its YAML file holds (``parse_definition`` reads it back)."""
    found: dict[str, Any] = {
        "id": instrument.id,
        "version": instrument.version,
        "title": instrument.title,
        "short_title": instrument.short_title,
        "construct": instrument.construct,
        "kind": instrument.kind,
        "status": instrument.status,
        "project_authored": instrument.project_authored,
        "validated": instrument.validated,
        "licence": instrument.licence,
        "instructions": instrument.instructions,
        "items": [_item_definition(i) for i in instrument.items],
        "scoring": {
            "method": instrument.scoring_method,
            "higher_is_better": instrument.higher_is_better,
            "decimals": instrument.decimals,
            "missing": {
                "max_missing": instrument.max_missing,
                "method": instrument.missing_method,
                "source": instrument.missing_source,
            },
        },
        "sources": dict(instrument.sources),
    }
    found.update(_optional_sections(instrument))
    return found


def _item_definition(item: Item) -> dict[str, Any]:
    found: dict[str, Any] = {"id": item.id}
    for key in ("text", "loinc", "subscale"):
        if getattr(item, key):
            found[key] = getattr(item, key)
    if item.reverse:
        found["reverse"] = True
    return found


def _optional_sections(instrument: Instrument) -> dict[str, Any]:
    found: dict[str, Any] = {}
    loinc = {"panel": instrument.loinc_panel, "total": instrument.loinc_total}
    if any(loinc.values()):
        found["loinc"] = {k: v for k, v in loinc.items() if v}
    if instrument.options:
        found["response_options"] = [_option(o.value, o.label, o.loinc) for o in instrument.options]
    if instrument.response_range:
        found["response_range"] = dict(instrument.response_range.__dict__)
    if instrument.subscales:
        found["subscales"] = [{"id": s, "label": label} for s, label in instrument.subscales]
    if instrument.bands:
        levels = [dict(b.__dict__) for b in instrument.bands]
        found["bands"] = {"source": instrument.bands_source, "levels": levels}
    if instrument.risk_rules:
        found["risk_items"] = [dict(r.__dict__) for r in instrument.risk_rules]
    for key in ("caseness", "alliance", "reliable_change"):
        section = getattr(instrument, key)
        if section:
            found[key] = {k: v for k, v in section.__dict__.items() if v is not None}
    return found


def _option(value: int, label: str, loinc: str | None) -> dict[str, Any]:
    return (
        {"value": value, "label": label, "loinc": loinc}
        if loinc
        else {"value": value, "label": label}
    )


def build_questionnaire(instrument: Instrument) -> dict[str, Any]:
    """The FHIR R4 Questionnaire of ``instrument`` (its items, options, codes and rules)."""
    questionnaire: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": codes.resource_id(instrument.id),
        "url": canonical_url(instrument.id),
        "identifier": [{"system": codes.INSTRUMENT_ID_SYSTEM, "value": instrument.id}],
        "version": instrument.version,
        "name": instrument.id,
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": instrument.licence,
        "code": [_panel_coding(instrument)],
        "extension": [{"url": codes.EXT_RULES, "valueString": _rules_json(instrument)}],
        "item": _items(instrument),
    }
    return questionnaire


def _panel_coding(instrument: Instrument) -> dict[str, str]:
    if instrument.loinc_panel:
        return codes.coding(codes.LOINC, instrument.loinc_panel, instrument.title)
    return codes.coding(codes.CODE_SYSTEM, instrument.id, instrument.title)


def _rules_json(instrument: Instrument) -> str:
    rules = {k: v for k, v in definition_of(instrument).items() if k not in NATIVE_KEYS}
    return json.dumps(rules, ensure_ascii=False)


def _items(instrument: Instrument) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if instrument.instructions:
        items.append(
            {"linkId": codes.INSTRUCTIONS_LINK, "type": "display", "text": instrument.instructions}
        )
    items += [_question(instrument, item) for item in instrument.items]
    items.append(_total_item(instrument))
    return items


def _question(instrument: Instrument, item: Item) -> dict[str, Any]:
    question: dict[str, Any] = {"linkId": item.id, "code": [codes.item_coding(instrument, item.id)]}
    if item.text:
        question["text"] = item.text
    extensions = _item_extensions(item)
    if instrument.response_range:
        rng = instrument.response_range
        question["type"] = "decimal"
        extensions += [
            {"url": codes.EXT_MIN, "valueDecimal": rng.min},
            {"url": codes.EXT_MAX, "valueDecimal": rng.max},
            {"url": codes.EXT_DECIMALS, "valueInteger": _decimal_places(rng.step)},
        ]
    else:
        question["type"] = "choice"
        question["answerOption"] = [_answer_option(instrument, o.value) for o in instrument.options]
    if extensions:
        question["extension"] = extensions
    question["required"] = instrument.max_missing == 0
    return question


def _item_extensions(item: Item) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if item.subscale:
        found.append({"url": codes.EXT_SUBSCALE, "valueCode": item.subscale})
    if item.reverse:
        found.append({"url": codes.EXT_REVERSE, "valueBoolean": True})
    return found


def _decimal_places(step: float) -> int:
    """Decimal places of a step (0.1 -> 1); the rules extension keeps the exact step."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _answer_option(instrument: Instrument, value: int) -> dict[str, Any]:
    return {
        "extension": [{"url": codes.EXT_ORDINAL, "valueDecimal": value}],
        "valueCoding": codes.answer_coding(instrument, value),
    }


def _total_item(instrument: Instrument) -> dict[str, Any]:
    """The total as a read-only item, so a response can carry it beside the answers."""
    return {
        "linkId": codes.TOTAL_LINK,
        "code": [codes.total_coding(instrument)],
        "text": f"{instrument.short_title} total score",
        "type": "decimal",
        "readOnly": True,
    }

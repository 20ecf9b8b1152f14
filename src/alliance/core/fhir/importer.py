"""FHIR in: a Questionnaire becomes an instrument definition (the mapping a YAML file holds).

Items, answer options, their scores (``ordinalValue``/``itemWeight``) and LOINC codes come from
the Questionnaire; the scoring rules from the project's rules extension when an alliance site
wrote it, else from the caller (:class:`ImportChoices`, the CLI's options). Nothing clinical is
guessed: what neither says is refused, naming what is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alliance.core.errors import DefinitionError, FhirImportError
from alliance.core.fhir import codes
from alliance.core.fhir.questionnaire import NATIVE_KEYS
from alliance.core.instruments import parse_definition
from alliance.core.licensed_text import MAX_TEXT_FILE_BYTES

MAX_DEPTH = 20
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LOINC_ANSWER = re.compile(r"^LA\d+-\d$")
_ANSWERABLE = {"choice", "coding", "open-choice", "integer", "decimal", "string", "text", "boolean"}


@dataclass(frozen=True)
class ImportChoices:
    """What the Questionnaire may not say, given by the user (None: not given)."""

    id: str | None = None
    kind: str | None = None
    version: str | None = None
    status: str | None = None
    licence: str | None = None
    scoring: str | None = None
    higher_is_better: bool | None = None
    max_missing: int | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    definition: dict[str, Any]
    #: linkIds of answerable items left out because their answers carry no scores.
    skipped: list[str]


def definition_from_questionnaire(doc: Any, choices: ImportChoices) -> ImportResult:
    """The instrument definition of Questionnaire ``doc``, validated as an instrument file is."""
    _check_resource(doc)
    rules = _rules(doc)
    parts = _Parts.read(doc)
    instrument_id = _instrument_id(doc, choices)
    definition = {"id": instrument_id, **_native(doc, parts, instrument_id), **rules}
    definition.update(_chosen(choices, definition))
    missing = _missing(definition)
    if missing:
        raise FhirImportError(
            "the Questionnaire does not say " + "; ".join(missing) + ": give these options"
        )
    try:
        parse_definition(definition, origin="imported Questionnaire")
    except DefinitionError as exc:
        raise FhirImportError(str(exc)) from exc
    return ImportResult(_ordered(definition), parts.skipped)


def _check_resource(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise FhirImportError(f"expected a FHIR Questionnaire (a JSON object), got {_kind(doc)}")
    if doc.get("resourceType") != "Questionnaire":
        found = doc.get("resourceType")
        raise FhirImportError(f"not a FHIR Questionnaire (resourceType is {found!r})")
    if not isinstance(doc.get("item"), list) or not doc["item"]:
        raise FhirImportError("the Questionnaire has no items")


def _kind(value: Any) -> str:
    names: dict[type, str] = {list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


def _rules(doc: dict[str, Any]) -> dict[str, Any]:
    """The rules an alliance site wrote into ``EXT_RULES``, or {}."""
    for ext in _extensions(doc, codes.EXT_RULES):
        try:
            rules = json.loads(ext.get("valueString", ""))
        except (TypeError, ValueError) as exc:
            raise FhirImportError(f"the {codes.EXT_RULES} extension is not JSON") from exc
        if not isinstance(rules, dict):
            raise FhirImportError(f"the {codes.EXT_RULES} extension is not a JSON object")
        return {k: v for k, v in rules.items() if k not in NATIVE_KEYS}
    return {}


def _list(value: Any) -> list[Any]:
    """A FHIR list element, or [] for anything else (the input is not trusted)."""
    return value if isinstance(value, list) else []


def _extensions(element: dict[str, Any], url: str) -> Iterator[dict[str, Any]]:
    for ext in _list(element.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == url:
            yield ext


def _walk(items: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every item, depth first, in document order (groups nest; a sane form is shallow)."""
    if depth > MAX_DEPTH:
        raise FhirImportError(f"items nest deeper than {MAX_DEPTH} levels")
    for item in _list(items):
        if isinstance(item, dict):
            yield item
            yield from _walk(item.get("item"), depth + 1)


@dataclass
class _Parts:
    """The Questionnaire's items sorted into what an instrument needs."""

    questions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    instructions: str | None = None
    total: dict[str, Any] | None = None

    @classmethod
    def read(cls, doc: dict[str, Any]) -> _Parts:
        parts = cls()
        for item in _walk(doc["item"]):
            parts._sort(item)
        if not parts.questions:
            raise FhirImportError(
                "the Questionnaire has no scored items (choice items whose answer options carry "
                "ordinalValue scores, or decimal/integer items with minValue and maxValue)"
            )
        return parts

    def _sort(self, item: dict[str, Any]) -> None:
        kind = _type(item)
        if kind == "display" and item.get("linkId") == codes.INSTRUCTIONS_LINK:
            self.instructions = item.get("text")
        elif item.get("readOnly") or any(_extensions(item, codes.EXT_CALCULATED)):
            self.total = self.total or item
        elif _scores(item) is not None or _range(item) is not None:
            self.questions.append(item)
        elif kind in _ANSWERABLE:
            self.skipped.append(str(item.get("linkId")))


def _type(item: dict[str, Any]) -> str:
    kind = item.get("type")
    return kind if isinstance(kind, str) else ""


def _scores(item: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The item's answer options as instrument options, or None if any lacks a score."""
    if _type(item) not in {"choice", "coding"}:
        return None
    found = []
    for option in _list(item.get("answerOption")):
        score = _option_score(option)
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        if score is None or not isinstance(coding, dict):
            return None
        entry: dict[str, Any] = {"value": score, "label": str(coding.get("display") or "")}
        if _is_loinc_answer(coding):
            entry["loinc"] = coding["code"]
        found.append(entry)
    return found or None


def _option_score(option: Any) -> int | None:
    if not isinstance(option, dict):
        return None
    for url in (codes.EXT_ORDINAL, codes.EXT_ITEM_WEIGHT):
        for ext in _extensions(option, url):
            value = ext.get("valueDecimal", ext.get("valueInteger"))
            if not isinstance(value, bool) and isinstance(value, int | float) and value % 1 == 0:
                return int(value)
            raise FhirImportError(f"answer score {value!r} is not a whole number")
    return None


def _is_loinc_answer(coding: dict[str, Any]) -> bool:
    code = str(coding.get("code") or "")
    return coding.get("system") == codes.LOINC or (
        not coding.get("system") and bool(_LOINC_ANSWER.match(code))
    )


def _range(item: dict[str, Any]) -> dict[str, float] | None:
    if _type(item) not in {"decimal", "integer"}:
        return None
    bounds: dict[str, Any] = {}
    for key, url in (("min", codes.EXT_MIN), ("max", codes.EXT_MAX)):
        for ext in _extensions(item, url):
            bounds[key] = ext.get("valueDecimal", ext.get("valueInteger"))
    if not all(isinstance(bounds.get(k), int | float) for k in ("min", "max")):
        return None
    places = next((e.get("valueInteger") for e in _extensions(item, codes.EXT_DECIMALS)), None)
    step = 1.0
    if _type(item) == "decimal" and isinstance(places, int) and 0 < places < 10:
        step = 10.0**-places
    return {"min": bounds["min"], "max": bounds["max"], "step": step}


def _loinc(item: dict[str, Any]) -> str | None:
    for coding in _list(item.get("code")):
        if isinstance(coding, dict) and coding.get("system") == codes.LOINC and coding.get("code"):
            return str(coding["code"])
    return None


def _instrument_id(doc: dict[str, Any], choices: ImportChoices) -> str:
    if choices.id is not None:
        if not _ID.match(choices.id):
            raise FhirImportError(f"--id {choices.id!r}: use lower-case letters, digits and _")
        return choices.id
    for identifier in _list(doc.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("system") == codes.INSTRUMENT_ID_SYSTEM:
            return str(identifier.get("value"))
    raise FhirImportError("the Questionnaire has no alliance instrument id: give --id")


def _native(doc: dict[str, Any], parts: _Parts, instrument_id: str) -> dict[str, Any]:
    """What FHIR elements say: title, version, licence, codes, items and answer options."""
    found: dict[str, Any] = {"title": doc.get("title") or doc.get("name") or instrument_id}
    for key, element in (("version", "version"), ("licence", "copyright")):
        if doc.get(element):
            found[key] = str(doc[element])
    if parts.instructions:
        found["instructions"] = parts.instructions
    loinc = {"panel": _loinc(doc), "total": _loinc(parts.total) if parts.total else None}
    if any(loinc.values()):
        found["loinc"] = {k: v for k, v in loinc.items() if v}
    found["items"] = _items(parts.questions, instrument_id)
    found.update(_answers(parts.questions))
    return found


def _items(questions: list[dict[str, Any]], instrument_id: str) -> list[dict[str, Any]]:
    links = [str(q.get("linkId", "")) for q in questions]
    own = all(_ID.match(link) for link in links) and len(set(links)) == len(links)
    items = []
    for number, (question, link) in enumerate(zip(questions, links, strict=True), start=1):
        item: dict[str, Any] = {"id": link if own else f"{instrument_id}_{number}"}
        if isinstance(question.get("text"), str) and question["text"].strip():
            item["text"] = question["text"]
        if _loinc(question):
            item["loinc"] = _loinc(question)
        for ext in _extensions(question, codes.EXT_SUBSCALE):
            item["subscale"] = ext.get("valueCode")
        if any(e.get("valueBoolean") for e in _extensions(question, codes.EXT_REVERSE)):
            item["reverse"] = True
        items.append(item)
    return items


def _answers(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """One answer scale for every item: alliance instruments have no mixed scales."""
    scales = [_scores(q) or _range(q) for q in questions]
    if any(scale != scales[0] for scale in scales):
        raise FhirImportError("the scored items do not share one answer scale")
    scale = scales[0]
    if isinstance(scale, list):
        return {"response_options": scale}
    return {"response_range": scale}


def _chosen(choices: ImportChoices, definition: dict[str, Any]) -> dict[str, Any]:
    """The caller's choices, over what the Questionnaire said."""
    found: dict[str, Any] = {
        k: v
        for k, v in (
            ("kind", choices.kind),
            ("version", choices.version),
            ("status", choices.status),
            ("licence", choices.licence),
        )
        if v is not None
    }
    sources = {**_mapping(definition.get("sources")), **choices.sources}
    if choices.sources:
        found["sources"] = sources
    scoring = _mapping(definition.get("scoring"))
    if choices.scoring is not None:
        scoring["method"] = choices.scoring
    if choices.higher_is_better is not None:
        scoring["higher_is_better"] = choices.higher_is_better
    if choices.max_missing is not None or ("missing" not in scoring and choices.sources):
        cited = [*choices.sources, *_cited(scoring.get("missing")), *sources]
        scoring["missing"] = _missing_rule(choices.max_missing or 0, cited)
    if scoring:
        found["scoring"] = scoring
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _cited(rule: Any) -> list[str]:
    return [str(rule["source"])] if isinstance(rule, dict) and "source" in rule else []


def _missing_rule(count: int, cited: list[str]) -> dict[str, Any]:
    """Missing answers: prorated up to ``count`` (0: none allowed), citing the first --source
    given, else the source the Questionnaire's own rule cited."""
    if not cited:
        raise FhirImportError("--max-missing needs a --source that states the rule")
    source = cited[0]
    return {"max_missing": count, "method": "prorate" if count else "none", "source": source}


_REQUIRED = (
    (("version",), "its version (--version)"),
    (("kind",), "what it measures (--kind outcome|alliance|satisfaction)"),
    (("status",), "whether its wording is public or licensed (--status)"),
    (("licence",), "its licence or copyright (--licence)"),
    (("scoring", "method"), "how the total is scored (--scoring sum|mean)"),
    (
        ("scoring", "higher_is_better"),
        "which way is better (--higher-is-better or --lower-is-better)",
    ),
    (("sources",), "a source for the scoring rules (--source KEY=CITATION)"),
)


def _missing(definition: dict[str, Any]) -> list[str]:
    missing = []
    for path, wanted in _REQUIRED:
        value: Any = definition
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or value == {}:
            missing.append(wanted)
    return missing


_ORDER = (
    *("id", "version", "title", "short_title", "construct", "kind", "status"),
    *("project_authored", "validated", "licence", "instructions", "loinc"),
    *("response_options", "response_range", "items", "subscales", "scoring", "bands"),
    *("risk_items", "caseness", "reliable_change", "alliance", "sources"),
)


def _ordered(definition: dict[str, Any]) -> dict[str, Any]:
    """The keys in the order the bundled files use, for a readable YAML file."""
    return {k: definition[k] for k in sorted(definition, key=_ORDER.index)}


def read_questionnaire(path: Path) -> Any:
    """Decode a JSON file, refusing huge, non-UTF-8 or non-JSON input with a clear message."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_FILE_BYTES:
            raise FhirImportError(f"{path}: {size} bytes; the limit is {MAX_TEXT_FILE_BYTES}")
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise FhirImportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise FhirImportError(f"{path}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise FhirImportError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from exc
    except RecursionError as exc:
        raise FhirImportError(f"{path}: JSON nested too deeply") from exc

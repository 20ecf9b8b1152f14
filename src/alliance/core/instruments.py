"""Instrument definitions: data files validated against a JSON Schema, loaded into dataclasses.

Every clinical number (bands, cutoffs, reliable-change thresholds) lives in the YAML files
under ``instruments/`` next to its cited source; this module only checks and exposes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from alliance.core.errors import DefinitionError, UnknownInstrumentError

_BUNDLED = resources.files("alliance.core") / "instruments"


@dataclass(frozen=True)
class ResponseOption:
    value: int
    label: str
    loinc: str | None = None


@dataclass(frozen=True)
class ResponseRange:
    """A visual-analogue answer: any multiple of ``step`` between ``min`` and ``max``."""

    min: float
    max: float
    step: float


@dataclass(frozen=True)
class Item:
    id: str
    text: str | None = None
    loinc: str | None = None
    subscale: str | None = None
    reverse: bool = False


@dataclass(frozen=True)
class Band:
    id: str
    label: str
    min: float


@dataclass(frozen=True)
class RiskRule:
    item: str
    min_value: float
    flag: str
    message: str
    source: str


@dataclass(frozen=True)
class Caseness:
    threshold: float
    case_when: str  # "at_or_above" or "below"
    source: str

    def is_case(self, total: float) -> bool:
        if self.case_when == "at_or_above":
            return total >= self.threshold
        return total < self.threshold


@dataclass(frozen=True)
class ReliableChange:
    source: str
    threshold: float | None = None
    reliability: float | None = None
    sd: float | None = None


@dataclass(frozen=True)
class AllianceRules:
    floor: float
    ceiling: float
    source: str
    cutoff: float | None = None
    rupture_drop: float | None = None
    ceiling_note: bool = False


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: str
    short_title: str
    kind: str
    status: str
    licence: str
    items: tuple[Item, ...]
    scoring_method: str
    higher_is_better: bool
    decimals: int
    max_missing: int
    missing_method: str
    sources: dict[str, str]
    #: The source the missing-answer rule cites (kept so the definition can be written back out).
    missing_source: str = ""
    construct: str = ""
    instructions: str | None = None
    project_authored: bool = False
    validated: bool = True
    loinc_panel: str | None = None
    loinc_total: str | None = None
    options: tuple[ResponseOption, ...] = ()
    response_range: ResponseRange | None = None
    subscales: tuple[tuple[str, str], ...] = ()
    bands: tuple[Band, ...] = ()
    bands_source: str | None = None
    risk_rules: tuple[RiskRule, ...] = ()
    caseness: Caseness | None = None
    reliable_change: ReliableChange | None = None
    alliance: AllianceRules | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_text(self) -> bool:
        """Whether every item has wording, so the instrument can be administered."""
        return all(item.text for item in self.items)

    @property
    def availability(self) -> str:
        """``ready`` or ``needs licensed text``."""
        return "ready" if self.has_text else "needs licensed text"

    @property
    def min_value(self) -> float:
        if self.response_range:
            return self.response_range.min
        return min(o.value for o in self.options)

    @property
    def max_value(self) -> float:
        if self.response_range:
            return self.response_range.max
        return max(o.value for o in self.options)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def with_texts(self, texts: dict[str, str], instructions: str | None = None) -> Instrument:
        """A copy with item wording filled in (for licensed instruments)."""
        items = tuple(replace(i, text=texts.get(i.id, i.text)) for i in self.items)
        return replace(self, items=items, instructions=instructions or self.instructions)


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("alliance.core") / "instrument.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def parse_definition(data: Any, origin: str = "<definition>") -> Instrument:
    """Validate a decoded definition and build an :class:`Instrument`.

    Raises :class:`DefinitionError` naming the file and the offending field.
    """
    if not isinstance(data, dict):
        raise DefinitionError(
            f"{origin}: a definition must be a mapping, got {type(data).__name__}"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(_schema()).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise DefinitionError(f"{origin}: {where}: {error.message}")
    _check_consistency(data, origin)
    return _build(data)


def _check_consistency(data: dict[str, Any], origin: str) -> None:
    """Cross-field rules JSON Schema cannot express."""
    item_ids = [i["id"] for i in data["items"]]
    if len(set(item_ids)) != len(item_ids):
        raise DefinitionError(f"{origin}: items: duplicate item ids")
    subscales = {s["id"] for s in data.get("subscales", [])}
    for item in data["items"]:
        if "subscale" in item and subscales and item["subscale"] not in subscales:
            raise DefinitionError(
                f"{origin}: items/{item['id']}: unknown subscale {item['subscale']!r}"
            )
    for rule in data.get("risk_items", []):
        if rule["item"] not in item_ids:
            raise DefinitionError(f"{origin}: risk_items: unknown item {rule['item']!r}")
    levels = [b["min"] for b in data.get("bands", {}).get("levels", [])]
    if levels != sorted(levels) or len(set(levels)) != len(levels):
        raise DefinitionError(f"{origin}: bands/levels: minimums must increase strictly")
    if data["scoring"]["missing"]["max_missing"] >= len(item_ids):
        raise DefinitionError(f"{origin}: scoring/missing/max_missing must be below the item count")
    cited = set(data["sources"])
    for key in _source_refs(data):
        if key not in cited:
            raise DefinitionError(f"{origin}: source {key!r} is cited but not listed under sources")


def _source_refs(data: dict[str, Any]) -> list[str]:
    refs = [data["scoring"]["missing"]["source"]]
    for section in ("bands", "caseness", "reliable_change", "alliance"):
        if section in data:
            refs.append(data[section]["source"])
    refs += [r["source"] for r in data.get("risk_items", [])]
    return refs


def _build(d: dict[str, Any]) -> Instrument:
    scoring = d["scoring"]
    bands = d.get("bands")
    rc = d.get("reliable_change")
    return Instrument(
        id=d["id"],
        version=d["version"],
        title=d["title"],
        short_title=d.get("short_title", d["title"]),
        construct=d.get("construct", ""),
        kind=d["kind"],
        status=d["status"],
        licence=" ".join(d["licence"].split()),
        instructions=d.get("instructions"),
        project_authored=d.get("project_authored", False),
        validated=d.get("validated", not d.get("project_authored", False)),
        loinc_panel=d.get("loinc", {}).get("panel"),
        loinc_total=d.get("loinc", {}).get("total"),
        options=tuple(ResponseOption(**o) for o in d.get("response_options", [])),
        response_range=ResponseRange(**d["response_range"]) if "response_range" in d else None,
        items=tuple(Item(**i) for i in d["items"]),
        subscales=tuple((s["id"], s["label"]) for s in d.get("subscales", [])),
        scoring_method=scoring["method"],
        higher_is_better=scoring["higher_is_better"],
        decimals=scoring.get("decimals", 0),
        max_missing=scoring["missing"]["max_missing"],
        missing_method=scoring["missing"]["method"],
        missing_source=scoring["missing"]["source"],
        bands=tuple(Band(**b) for b in bands["levels"]) if bands else (),
        bands_source=bands["source"] if bands else None,
        risk_rules=tuple(RiskRule(**r) for r in d.get("risk_items", [])),
        caseness=Caseness(**d["caseness"]) if "caseness" in d else None,
        reliable_change=ReliableChange(**rc) if rc else None,
        alliance=AllianceRules(**d["alliance"]) if "alliance" in d else None,
        sources={k: " ".join(v.split()) for k, v in d["sources"].items()},
    )


def load_definition(path: Path) -> Instrument:
    """Read and validate one definition file (YAML or JSON)."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc
    instrument = parse_definition(data, origin=path.name)
    if instrument.id != path.stem:
        raise DefinitionError(f"{path.name}: id {instrument.id!r} must match the file name")
    return instrument


@cache
def bundled_instruments() -> dict[str, Instrument]:
    """The instruments shipped with alliance, keyed by id, without site-supplied text."""
    found: dict[str, Instrument] = {}
    for entry in sorted(_BUNDLED.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml", ".json")):
            with resources.as_file(entry) as path:
                instrument = load_definition(path)
            found[instrument.id] = instrument
    return found


def get_bundled(instrument_id: str) -> Instrument:
    """The shipped definition of ``instrument_id`` (no licensed text)."""
    instruments = bundled_instruments()
    try:
        return instruments[instrument_id]
    except KeyError:
        known = ", ".join(sorted(instruments))
        raise UnknownInstrumentError(
            f"unknown instrument {instrument_id!r} (known: {known})"
        ) from None

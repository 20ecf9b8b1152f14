"""Instrument definitions load, carry their sources, and reject malformed files clearly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alliance.core.errors import DefinitionError
from alliance.core.instruments import Instrument, load_definition, parse_definition

from .conftest import SHARED

EXPECTED = {"phq9", "gad7", "alliance_check", "satisfaction_check", "wai_sr", "srs", "ors"}


def test_all_bundled_instruments_load(instruments: dict[str, Instrument]) -> None:
    assert set(instruments) == EXPECTED


@pytest.mark.parametrize("instrument_id", sorted(EXPECTED))
def test_every_cited_source_is_listed(
    instruments: dict[str, Instrument], instrument_id: str
) -> None:
    instrument = instruments[instrument_id]
    assert instrument.sources
    assert all(len(text) > 20 for text in instrument.sources.values())


def test_licensed_instruments_ship_without_wording(instruments: dict[str, Instrument]) -> None:
    for instrument_id in ("wai_sr", "srs", "ors"):
        instrument = instruments[instrument_id]
        assert instrument.status == "licensed"
        assert all(item.text is None for item in instrument.items)
        assert instrument.availability == "needs licensed text"


def test_project_authored_measures_are_marked(instruments: dict[str, Instrument]) -> None:
    for instrument_id in ("alliance_check", "satisfaction_check"):
        instrument = instruments[instrument_id]
        assert instrument.project_authored and not instrument.validated
        assert "CC0" in instrument.licence


def test_phq9_and_gad7_carry_the_no_permission_statement(
    instruments: dict[str, Instrument],
) -> None:
    for instrument_id in ("phq9", "gad7"):
        assert "No permission required to reproduce" in instruments[instrument_id].licence


def test_gad7_zero_option_is_not_at_all(gad7: Instrument) -> None:
    assert gad7.options[0].value == 0 and gad7.options[0].label == "Not at all"


def test_wai_sr_subscales_follow_hatcher_and_gillaspy(instruments: dict[str, Instrument]) -> None:
    wai = instruments["wai_sr"]
    by_scale: dict[str, list[int]] = {}
    for n, item in enumerate(wai.items, start=1):
        by_scale.setdefault(item.subscale or "", []).append(n)
    assert by_scale == {"task": [1, 2, 10, 12], "bond": [3, 5, 7, 9], "goal": [4, 6, 8, 11]}


def _lhc_phq9() -> dict[str, Any]:
    path = SHARED / "fhir" / "lhc-forms-phq9-questionnaire.json"
    if not path.exists():
        pytest.skip("shared FHIR fixture not present")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def test_phq9_loinc_codes_match_nlm_questionnaire(phq9: Instrument) -> None:
    questionnaire = _lhc_phq9()
    assert questionnaire["code"][0]["code"] == phq9.loinc_panel
    by_code = {item["code"][0]["code"]: item for item in questionnaire["item"]}
    assert phq9.loinc_total in by_code
    for item in phq9.items:
        nlm = by_code[item.loinc or ""]
        answers = [
            (o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in nlm["answerOption"]
        ]
        assert answers == [(o.loinc, o.label) for o in phq9.options]


def _phq9_data() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "src/alliance/core/instruments/phq9.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("title"), "'title' is a required property"),
        (lambda d: d["items"][0].update(colour="red"), "items/0"),
        (lambda d: d["scoring"].update(method="median"), "scoring/method"),
        (lambda d: d["bands"]["levels"].reverse(), "minimums must increase"),
        (lambda d: d["items"].append(dict(d["items"][0])), "duplicate item ids"),
        (lambda d: d["risk_items"][0].update(item="phq9_99"), "unknown item 'phq9_99'"),
        (lambda d: d["caseness"].update(source="nowhere"), "source 'nowhere' is cited"),
        (lambda d: d["scoring"]["missing"].update(max_missing=9), "max_missing"),
        (lambda d: d["reliable_change"].pop("threshold"), "reliable_change"),
    ],
)
def test_malformed_definitions_are_rejected_with_the_field(mutate: Any, message: str) -> None:
    data = copy.deepcopy(_phq9_data())
    mutate(data)
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        parse_definition(data, origin="phq9.yaml")


def test_definition_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed", "utf-8")
    with pytest.raises(DefinitionError, match=r"broken\.yaml: not valid YAML"):
        load_definition(broken)
    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- 1\n- 2\n", "utf-8")
    with pytest.raises(DefinitionError, match="must be a mapping"):
        load_definition(not_mapping)


def test_definition_id_must_match_file_name(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(_phq9_data()), "utf-8")
    with pytest.raises(DefinitionError, match="must match the file name"):
        load_definition(other)

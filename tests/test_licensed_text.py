"""Supplying licensed wording: from a simple file or a FHIR Questionnaire, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alliance.core.errors import LicensedTextError, NeedsLicensedTextError
from alliance.core.instruments import Instrument
from alliance.core.licensed_text import texts_from_questionnaire
from alliance.core.registry import Registry

from .conftest import SHARED

# Placeholder wording written for these tests: never the copyrighted items.
ORS_TEXTS = {f"ors_{n}": f"Test wording for ORS item {n}" for n in range(1, 5)}


def _write(path: Path, payload: Any) -> Path:
    path.write_text(
        yaml.safe_dump(payload) if path.suffix == ".yaml" else json.dumps(payload), "utf-8"
    )
    return path


def test_licensed_instrument_cannot_be_administered_without_text(registry: Registry) -> None:
    with pytest.raises(NeedsLicensedTextError, match="srs needs licensed text"):
        registry.administrable("srs")


def test_add_text_from_yaml_makes_the_instrument_ready(registry: Registry, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "ors.yaml",
        {"instrument": "ors", "instructions": "Test instructions", "items": ORS_TEXTS},
    )
    registry.add_text("ors", source)
    ors = Registry(registry.data_dir).administrable("ors")
    assert ors.availability == "ready"
    assert ors.item("ors_3").text == "Test wording for ORS item 3"
    assert ors.instructions == "Test instructions"


def test_add_text_from_list_form(registry: Registry, tmp_path: Path) -> None:
    items = [{"id": k, "text": v} for k, v in ORS_TEXTS.items()]
    registry.add_text("ors", _write(tmp_path / "ors.json", {"items": items}))
    assert registry.get("ors").has_text


def _questionnaire(link_ids: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {
                "linkId": "group",
                "type": "group",
                "item": [
                    {"linkId": link, "type": "decimal", "text": f"Question {n}"}
                    for n, link in enumerate(link_ids, start=1)
                ],
            },
            {"linkId": "total", "type": "decimal", "text": "Total", "readOnly": True},
        ],
    }


def test_add_text_from_fhir_questionnaire_by_link_id(registry: Registry, tmp_path: Path) -> None:
    links = ["ors_4", "ors_3", "ors_2", "ors_1"]
    registry.add_text("ors", _write(tmp_path / "q.json", _questionnaire(links)))
    assert registry.get("ors").item("ors_4").text == "Question 1"


def test_add_text_from_fhir_questionnaire_by_order(registry: Registry, tmp_path: Path) -> None:
    registry.add_text("ors", _write(tmp_path / "q.json", _questionnaire(["a", "b", "c", "d"])))
    assert registry.get("ors").item("ors_2").text == "Question 2"


def test_nlm_phq9_questionnaire_matches_our_items_by_loinc(phq9: Instrument) -> None:
    path = SHARED / "fhir" / "lhc-forms-phq9-questionnaire.json"
    if not path.exists():
        pytest.skip("shared FHIR fixture not present")
    texts = texts_from_questionnaire(phq9, json.loads(path.read_text("utf-8")))
    assert set(texts) == {item.id for item in phq9.items}
    assert texts["phq9_2"].startswith("Feeling down, depressed, or hopeless")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"items": {"ors_1": "only one"}}, "no text for ors items: ors_2, ors_3, ors_4"),
        ({"items": {**ORS_TEXTS, "ors_9": "x"}}, "unknown item ids for ors: ors_9"),
        ({"instrument": "srs", "items": ORS_TEXTS}, "file is for instrument 'srs'"),
        ({"items": {**ORS_TEXTS, "ors_1": "  "}}, "no text for ors items: ors_1"),
        (["not", "a", "mapping"], "expected a mapping"),
        ({"resourceType": "Questionnaire", "item": []}, "no answerable items"),
        ({"items": [{"id": "ors_1"}]}, "needs 'id' and 'text'"),
    ],
)
def test_bad_text_files(registry: Registry, tmp_path: Path, payload: Any, message: str) -> None:
    with pytest.raises(LicensedTextError, match=message):
        registry.add_text("ors", _write(tmp_path / "bad.json", payload))
    assert not registry.get("ors").has_text


def test_bad_file_encodings_and_sizes(registry: Registry, tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("items: {ors_1: caf\xe9}".encode("latin-1"))
    with pytest.raises(LicensedTextError, match="not UTF-8"):
        registry.add_text("ors", latin)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * 1_000_001)
    with pytest.raises(LicensedTextError, match="limit is 1000000"):
        registry.add_text("ors", huge)
    with pytest.raises(LicensedTextError, match="cannot read"):
        registry.add_text("ors", tmp_path / "missing.json")


def test_public_instruments_refuse_new_text(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(LicensedTextError, match="ships its own public wording"):
        registry.add_text("phq9", _write(tmp_path / "x.json", {"items": {}}))

"""FHIR in and out for instruments: every Questionnaire validates as FHIR R4 (fhir.resources'
R4B models), an instrument survives instrument -> Questionnaire -> import-fhir -> instrument
unchanged, and LHC-Forms' PHQ-9 Questionnaire imports as the bundled PHQ-9."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alliance.cli import app
from alliance.core.errors import FhirImportError
from alliance.core.fhir import build_questionnaire, codes
from alliance.core.fhir.importer import ImportChoices, definition_from_questionnaire
from alliance.core.instruments import Instrument, bundled_instruments, load_definition
from alliance.core.registry import Registry

from .conftest import SHARED

LHC_PHQ9 = SHARED / "fhir" / "lhc-forms-phq9-questionnaire.json"
PHQ9_RULES = [
    *("--id", "phq9", "--kind", "outcome", "--version", "1999", "--status", "public"),
    *("--licence", "No permission required.", "--scoring", "sum", "--lower-is-better"),
    *("--max-missing", "2", "--source", "kroenke2010=Kroenke K et al. 2010: proration"),
]

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def items_by_link(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in questionnaire["item"]}


@pytest.mark.parametrize(
    "instrument_id",
    ["phq9", "gad7", "alliance_check", "satisfaction_check", "wai_sr", "srs", "ors"],
)
def test_every_instrument_round_trips_through_a_validated_questionnaire(
    instrument_id: str, instruments: dict[str, Instrument], tmp_path: Path, data_dir: Path
) -> None:
    instrument = instruments[instrument_id]
    questionnaire = build_questionnaire(instrument)
    Questionnaire.model_validate(questionnaire)
    source = tmp_path / "q.json"
    source.write_text(json.dumps(questionnaire), "utf-8")
    target = tmp_path / f"{instrument_id}.yaml"
    code, _, err = run("instruments", "import-fhir", str(source), "--output", str(target))
    assert code == 0, err
    assert load_definition(target) == instrument


def test_questionnaire_codes_loinc_where_the_file_has_it(
    instruments: dict[str, Instrument],
) -> None:
    phq9 = build_questionnaire(instruments["phq9"])
    assert phq9["code"] == [codes.coding(codes.LOINC, "44249-1", instruments["phq9"].title)]
    items = items_by_link(phq9)
    assert items["phq9_9"]["code"] == [{"system": codes.LOINC, "code": "44260-8"}]
    first = items["phq9_1"]["answerOption"][0]
    assert first["valueCoding"]["code"] == "LA6568-5"
    assert first["extension"] == [{"url": codes.EXT_ORDINAL, "valueDecimal": 0}]
    assert items["total"]["code"][0]["code"] == "44261-6"
    assert items["instructions"]["type"] == "display"
    gad7 = items_by_link(build_questionnaire(instruments["gad7"]))
    assert gad7["total"]["code"][0]["code"] == "70274-6"


def test_project_checks_use_the_project_code_system(instruments: dict[str, Instrument]) -> None:
    check = build_questionnaire(instruments["alliance_check"])
    assert check["code"][0] == codes.coding(
        codes.CODE_SYSTEM, "alliance_check", instruments["alliance_check"].title
    )
    items = items_by_link(check)
    assert items["ac_heard"]["code"] == [{"system": codes.CODE_SYSTEM, "code": "ac_heard"}]
    option = items["ac_heard"]["answerOption"][0]["valueCoding"]
    assert option == {
        "system": codes.CODE_SYSTEM,
        "code": "alliance_check-1",
        "display": "Not at all",
    }
    assert items["total"]["code"][0] == {
        "system": codes.CODE_SYSTEM,
        "code": "alliance_check-total",
        "display": "Alliance check total score",
    }


def test_licensed_wording_only_when_the_site_supplied_it(
    instruments: dict[str, Instrument], data_dir: Path, tmp_path: Path
) -> None:
    bare = items_by_link(build_questionnaire(instruments["srs"]))
    assert all("text" not in bare[f"srs_{n}"] for n in range(1, 5))
    assert bare["srs_1"]["type"] == "decimal"
    wording = tmp_path / "srs.json"
    texts = {f"srs_{n}": f"Site wording {n}" for n in range(1, 5)}
    wording.write_text(json.dumps({"items": texts}), "utf-8")
    registry = Registry(data_dir)
    registry.add_text("srs", wording)
    licensed = items_by_link(build_questionnaire(registry.get("srs")))
    assert licensed["srs_2"]["text"] == "Site wording 2"


def test_lhc_forms_phq9_imports_as_the_bundled_phq9(
    instruments: dict[str, Instrument], tmp_path: Path
) -> None:
    target = tmp_path / "phq9.yaml"
    code, _, err = run("instruments", "import-fhir", str(LHC_PHQ9), "-o", str(target), *PHQ9_RULES)
    assert code == 0, err
    assert "left out item /69722-7" in err  # the difficulty question carries no scores
    imported, bundled = load_definition(target), instruments["phq9"]
    assert [(i.id, i.loinc) for i in imported.items] == [(i.id, i.loinc) for i in bundled.items]
    assert imported.options == bundled.options
    assert (imported.loinc_panel, imported.loinc_total) == ("44249-1", "44261-6")
    assert (imported.scoring_method, imported.higher_is_better) == ("sum", False)
    assert (imported.max_missing, imported.missing_method) == (2, "prorate")


def test_missing_scoring_rules_are_named(tmp_path: Path) -> None:
    code, out, err = run("instruments", "import-fhir", str(LHC_PHQ9), "--id", "phq9")
    assert code == 2
    assert out == ""
    for option in ("--version", "--kind", "--status", "--licence", "--scoring", "--source"):
        assert option in err
    assert "--higher-is-better or --lower-is-better" in err


def test_no_instrument_id_is_asked_for() -> None:
    code, _, err = run("instruments", "import-fhir", str(LHC_PHQ9))
    assert code == 2
    assert "give --id" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "got a list"),
        ('{"resourceType": "Patient"}', "not a FHIR Questionnaire (resourceType is 'Patient')"),
        ('{"resourceType": "Questionnaire", "item": []}', "the Questionnaire has no items"),
        (
            '{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "string"}]}',
            "no scored items",
        ),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (
            '{"resourceType": "Questionnaire", "item": '
            + '[{"linkId": "g", "type": "group", "item": ' * 30
            + "[]"
            + "}]" * 30
            + "}",
            "items nest deeper than 20 levels",
        ),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, content: str | bytes, message: str) -> None:
    source = tmp_path / "bad.json"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, "utf-8")
    code, out, err = run("instruments", "import-fhir", str(source), *PHQ9_RULES)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    code, _, err = run("instruments", "import-fhir", str(tmp_path / "none.json"))
    assert code == 2
    assert "cannot read" in err


def test_rules_from_the_questionnaire_and_options_combine(
    instruments: dict[str, Instrument], tmp_path: Path
) -> None:
    """An alliance Questionnaire needs no options; an option still overrides what it says."""
    source = tmp_path / "q.json"
    source.write_text(json.dumps(build_questionnaire(instruments["gad7"])), "utf-8")
    target = tmp_path / "gad7.yaml"
    code, _, err = run(
        "instruments", "import-fhir", str(source), "--max-missing", "0", "-o", str(target)
    )
    assert code == 0, err
    imported = load_definition(target)
    assert (imported.max_missing, imported.missing_method) == (0, "none")
    assert imported.missing_source == "project_missing"  # the source its own rule cited


def test_items_with_different_scales_are_refused(
    instruments: dict[str, Instrument], tmp_path: Path
) -> None:
    questionnaire = build_questionnaire(instruments["phq9"])
    items_by_link(questionnaire)["phq9_3"]["answerOption"].pop()
    source = tmp_path / "q.json"
    source.write_text(json.dumps(questionnaire), "utf-8")
    code, _, err = run("instruments", "import-fhir", str(source))
    assert code == 2
    assert "do not share one answer scale" in err


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def own_phq9() -> dict[str, Any]:
    """Our PHQ-9 Questionnaire with its rules extension decoded, so damage reaches the rules."""
    questionnaire = build_questionnaire(bundled_instruments()["phq9"])
    rules = questionnaire["extension"][0]
    rules["valueString"] = json.loads(rules["valueString"])
    return questionnaire


DOCS = (json.loads(LHC_PHQ9.read_text("utf-8")), own_phq9())
DOC_PATHS = [(n, path) for n, doc in enumerate(DOCS) for path in paths(doc)[1:]]
PHQ9_CHOICES = ImportChoices(
    id="phq9", kind="outcome", version="1", status="public", licence="x", scoring="sum",
    higher_is_better=False, max_missing=2, sources={"s": "a source"},
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(where=st.sampled_from(DOC_PATHS), value=JSON, with_options=st.booleans())
def test_any_damage_to_a_questionnaire_is_an_import_error(
    where: tuple[int, tuple[Any, ...]], value: Any, with_options: bool
) -> None:
    """Whatever one element of a real Questionnaire (LHC-Forms' or ours, rules included) is
    replaced with, the import works or fails with its own one-line error, never another."""
    number, path = where
    doc = copy.deepcopy(DOCS[number])
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    for ext in doc.get("extension", []) if isinstance(doc.get("extension"), list) else []:
        if isinstance(ext, dict) and ext.get("url") == codes.EXT_RULES:
            ext["valueString"] = json.dumps(ext.get("valueString"))
    with contextlib.suppress(FhirImportError):
        definition_from_questionnaire(doc, PHQ9_CHOICES if with_options else ImportChoices())

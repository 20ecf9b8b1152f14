"""CLI: analyze, empathy, models (enable/disable the research pack); bad input exits 2 with
one line on stderr. Each test has its own config folder, so the research pack starts off."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alliance.cli import transcripts

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
ROW_FIELDS = {
    "transcript_id",
    "utterance_id",
    "speaker",
    "role",
    "therapist_behaviour",
    "reflection",
    "question",
    "client_talk",
}
EMPATHY_FIELDS = {"emotional_reactions", "interpretations", "explorations"}


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    transcripts.register(app)
    return app


runner = CliRunner()


@pytest.fixture(autouse=True)
def own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh user config folder: the research pack is off until a test turns it on."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def enable_research(app: typer.Typer) -> None:
    res = runner.invoke(app, ["models", "enable", "research", "--accept-terms"])
    assert res.exit_code == 0, res.output


def test_analyze_text_report(app: typer.Typer) -> None:
    res = runner.invoke(app, ["analyze", str(FIXTURES / "zoom.vtt")])
    assert res.exit_code == 0, res.output
    assert "Dana Reyes = counselor" in res.stdout
    assert "% complex reflections" in res.stdout


def test_analyze_html_to_file(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["analyze", str(FIXTURES / "teams.vtt"), "--format", "html", "--output", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "<svg" in out.read_text()


def test_analyze_many_transcripts_gives_rows(app: typer.Typer) -> None:
    res = runner.invoke(
        app, ["analyze", str(FIXTURES / "annomi_small.csv"), str(FIXTURES / "session.txt")]
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert set(rows[0]) >= ROW_FIELDS
    assert not set(rows[0]) & {f for e in EMPATHY_FIELDS for f in (e, f"{e}_p")}
    assert "research pack" in res.stderr and "alliance models enable research" in res.stderr
    assert len(rows) == 7 + 5
    assert {r["transcript_id"] for r in rows} == {"t1", "t2", "session"}


def test_analyze_jsonl_and_counselor_override(app: typer.Typer) -> None:
    res = runner.invoke(
        app, ["analyze", str(FIXTURES / "session.txt"), "-f", "jsonl", "--counselor", "Client"]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows[0]["role"] == "client" and rows[1]["role"] == "counselor"


def test_counselor_override_ignores_case_and_spacing(app: typer.Typer) -> None:
    path = str(FIXTURES / "zoom.vtt")
    res = runner.invoke(app, ["analyze", path, "-f", "jsonl", "--counselor", " sam   LEE "])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["role"] for r in rows[:2]] == ["client", "counselor"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("empty.txt", []),
        ("binary.bin", []),
        ("unknown.txt", []),
        ("missing.vtt", []),
        ("annomi_small.csv", ["--format", "text"]),
        ("zoom.vtt", ["--counselor", "Nobody"]),
    ],
)
def test_bad_input_exits_2_with_one_line(app: typer.Typer, name: str, extra: list[str]) -> None:
    res = runner.invoke(app, ["analyze", str(FIXTURES / name), *extra])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.output


def test_malformed_vtt_warns_but_reports(app: typer.Typer) -> None:
    res = runner.invoke(app, ["analyze", str(FIXTURES / "malformed.vtt"), "-f", "json"])
    assert res.exit_code == 0
    assert "warning:" in res.stderr and "malformed" in res.stderr
    assert json.loads(res.stdout)["utterances"]


def test_research_pack_off_no_empathy_anywhere(app: typer.Typer, tmp_path: Path) -> None:
    """With the pack off, no format carries an empathy value, and each says why."""
    path = str(FIXTURES / "zoom.vtt")
    text = runner.invoke(app, ["analyze", path])
    doc = json.loads(runner.invoke(app, ["analyze", path, "-f", "json"]).stdout)
    html = tmp_path / "r.html"
    runner.invoke(app, ["analyze", path, "-f", "html", "-o", str(html)])
    assert "Empathy:" not in text.stdout and "enable research" in text.stdout
    assert doc["research"] is False and "enable research" in doc["packs_note"]
    assert not any(m["key"].startswith("empathy_") for m in doc["metrics"])
    assert not any(EMPATHY_FIELDS & set(u) for u in doc["utterances"])
    assert "ER/IP/EX" not in html.read_text() and "enable research" in html.read_text()
    res = runner.invoke(app, ["empathy", str(FIXTURES / "pairs.csv"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "research pack" in res.stderr
    assert not (tmp_path / "o").exists()


def test_research_pack_on_labels_empathy(app: typer.Typer) -> None:
    enable_research(app)
    res = runner.invoke(app, ["analyze", str(FIXTURES / "zoom.vtt"), "-f", "json"])
    doc = json.loads(res.stdout)
    assert doc["research"] is True and "non-commercial research only" in doc["packs_note"]
    empathy = [m for m in doc["metrics"] if m["key"].startswith("empathy_")]
    assert len(empathy) == 3 and all("non-commercial" in m["name"] for m in empathy)
    counselor = [u for u in doc["utterances"] if u["role"] == "counselor"]
    assert all(u["emotional_reactions"] in ("0", "1", "2") for u in counselor)


def test_enable_asks_for_the_terms(app: typer.Typer, own_config: Path) -> None:
    refused = runner.invoke(app, ["models", "enable", "research"], input="n\n")
    assert refused.exit_code == 2 and "NON-COMMERCIAL RESEARCH ONLY" in refused.stdout
    assert _research_state(runner.invoke(app, ["models"]).stdout) == "off"
    accepted = runner.invoke(app, ["models", "enable", "research"], input="y\n")
    assert accepted.exit_code == 0 and (own_config / "alliance" / "packs.json").exists()
    assert _research_state(runner.invoke(app, ["models"]).stdout) == "on"
    assert runner.invoke(app, ["models", "disable", "research"]).exit_code == 0
    assert _research_state(runner.invoke(app, ["models"]).stdout) == "off"
    assert runner.invoke(app, ["models", "enable", "default"]).exit_code == 2


def _research_state(out: str) -> str:
    line = next(x for x in out.splitlines() if x.startswith("== research pack"))
    return line.rsplit("— ", 1)[1].split(" ")[0]


def test_empathy_pairs(app: typer.Typer, tmp_path: Path) -> None:
    enable_research(app)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["empathy", str(FIXTURES / "pairs.csv"), "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2
    assert {"emotional_reactions", "interpretations", "explorations"} <= set(rows[0])
    bad = runner.invoke(app, ["empathy", str(FIXTURES / "annomi_small.csv"), "-o", str(out)])
    assert bad.exit_code == 2 and "seeker_post" in bad.stderr


def test_models_lists_both_packs_with_terms_and_figures(app: typer.Typer) -> None:
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    default, research = res.stdout.split("== research pack")
    assert default.startswith("== default pack") and "always on" in default
    assert "Any use, commercial included" in default and "Apache-2.0" in default
    assert "therapist_behaviour" in default and "grouped 5-fold CV macro-F1" in default
    assert "NON-COMMERCIAL RESEARCH ONLY" in research and "— off" in research.splitlines()[0]
    assert "emotional_reactions" in research and "grouped 5-fold CV macro-F1" in research
    assert "NON-COMMERCIAL" not in default

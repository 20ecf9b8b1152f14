"""CLI: analyze, empathy, models; bad input exits 2 with one line on stderr."""

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
    "emotional_reactions",
    "interpretations",
    "explorations",
}


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    transcripts.register(app)
    return app


runner = CliRunner()


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


def test_empathy_pairs(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["empathy", str(FIXTURES / "pairs.csv"), "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2
    assert {"emotional_reactions", "interpretations", "explorations"} <= set(rows[0])
    bad = runner.invoke(app, ["empathy", str(FIXTURES / "annomi_small.csv"), "-o", str(out)])
    assert bad.exit_code == 2 and "seeker_post" in bad.stderr


def test_models_lists_cards_with_licences(app: typer.Typer) -> None:
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    assert "NON-COMMERCIAL" in res.stdout
    assert "therapist_behaviour" in res.stdout

"""The command line: output shapes, --json, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_score_json_matches_the_issue_example(data_dir: Path) -> None:
    code, out, _ = run("score", "phq9", "3", "3", "2", "2", "1", "1", "0", "0", "1", "--json")
    payload = json.loads(out)
    assert code == 0
    assert {k: payload[k] for k in ("instrument", "total", "severity", "flags")} == {
        "instrument": "phq9",
        "total": 13,
        "severity": "moderate",
        "flags": ["risk:item9"],
    }


def test_score_text_with_missing_answer(data_dir: Path) -> None:
    code, out, _ = run("score", "gad7", "3", "3", "3", "2", "2", "2", "-")
    assert code == 0
    assert "total 18 (Severe) prorated from 6 of 7 items" in out


def test_change_json(data_dir: Path) -> None:
    code, out, _ = run("change", "phq9", "16", "9", "--json")
    payload = json.loads(out)
    assert code == 0
    assert (payload["category"], payload["recovered"], payload["reliably_recovered"]) == (
        "improved",
        True,
        True,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("score", "phq9", "1", "2"), "error: phq9 has 9 items; got 2 answers"),
        (
            ("score", "phq9", *["0"] * 8, "5"),
            "error: answer 9 (phq9_9) = 5 is not one of 0, 1, 2, 3",
        ),
        (("score", "phq9", *["0"] * 8, "x"), "error: answer 9 ('x') is not a number"),
        (("score", "bdi", "1"), "error: unknown instrument 'bdi'"),
        (("change", "phq9", "ten", "3"), "error: BEFORE ('ten') is not a number"),
        (("change", "phq9", "10", "30"), "error: after total 30.0 is outside phq9's range 0-27"),
        (("instruments", "show", "nope"), "error: unknown instrument 'nope'"),
        (("ask", "wai_sr"), "error: wai_sr needs licensed text"),
        (
            ("instruments", "add-text", "srs", "/nonexistent.json"),
            "error: /nonexistent.json: cannot read",
        ),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_instruments_list_and_status_change(data_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("instruments", "--json")
    rows = {row["id"]: row for row in json.loads(out)}
    assert code == 0 and rows["srs"]["status"] == "needs licensed text"
    assert rows["phq9"]["status"] == "ready"
    texts = tmp_path / "srs.yaml"
    texts.write_text(
        "items:\n" + "".join(f"  srs_{n}: Placeholder {n}\n" for n in range(1, 5)), "utf-8"
    )
    code, out, _ = run("instruments", "add-text", "srs", str(texts))
    assert code == 0 and "status: ready" in out
    code, out, _ = run("instruments", "--json")
    assert {r["id"]: r for r in json.loads(out)}["srs"]["status"] == "ready"


def test_instruments_show_text_and_json(data_dir: Path) -> None:
    code, out, _ = run("instruments", "show", "phq9")
    assert code == 0 and "No permission required" in out and "[phq9_9]" in out
    code, out, _ = run("instruments", "show", "wai_sr", "--json")
    assert json.loads(out)["status"] == "needs licensed text"


def test_ask_prompts_and_scores(data_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "gad7", "--json"], input="1\n9\n1\n1\n1\n1\n1\n1\n")
    assert result.exit_code == 0
    assert "try again" in result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :])["total"] == 7


def test_every_command_has_help() -> None:
    for args in (
        [],
        ["score"],
        ["change"],
        ["ask"],
        ["instruments"],
        ["instruments", "show"],
        ["instruments", "add-text"],
        ["demo"],
        ["keys"],
        ["keys", "rotate"],
        ["backup"],
        ["restore"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_console_script_runs_without_traceback(data_dir: Path) -> None:
    exe = Path(sys.executable).with_name("alliance")
    proc = subprocess.run(
        [str(exe), "score", "gad7", "9"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: gad7 has 7 items; got 1 answers"

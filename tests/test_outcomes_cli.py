"""``alliance outcomes``: the files it reads, the JSON and CSV it prints, and its errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app

HEADER = "client_id,episode,session,date,instrument,total,item1,item2,item3,item4,item5,item6,item7,item8,item9\n"
NINE_BLANK = ",,,,,,,,"


def run(tmp_path: Path, body: str, *args: str, header: str = HEADER) -> tuple[int, str, str]:
    path = tmp_path / "scores.csv"
    path.write_text(header + body, "utf-8")
    result = CliRunner().invoke(app, ["outcomes", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


def row(client: str, episode: str, session: int, instrument: str, total: str) -> str:
    return f"{client},{episode},{session},2026-01-{session:02d},{instrument},{total},{NINE_BLANK}\n"


# A returning client (R, episodes 1 and 2), a client on both measures (J), a single score (S).
CLINIC = (
    row("R", "1", 1, "phq9", "15")
    + row("R", "1", 2, "phq9", "8")
    + row("R", "2", 1, "phq9", "11")
    + row("R", "2", 2, "phq9", "18")
    + row("J", "1", 1, "phq9", "12")
    + row("J", "1", 2, "phq9", "8")
    + row("J", "1", 1, "gad7", "9")
    + row("J", "1", 2, "gad7", "4")
    + row("S", "1", 1, "phq9", "20")
)


def test_json_has_the_issues_keys(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, CLINIC, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"episodes", "summary", "alliance_outcome"}
    keys = {
        "client_id",
        "episode",
        "instrument",
        "first",
        "last",
        "n_scores",
        "paired",
        "change",
        "case_at_start",
        "recovered",
        "reliably_recovered",
    }
    assert all(keys <= set(e) for e in data["episodes"])
    by = {(e["client_id"], e["episode"], e["instrument"]): e for e in data["episodes"]}
    # Returning client: two episodes, each with its own first and last.
    assert (by["R", "1", "phq9"]["first"], by["R", "1", "phq9"]["change"]) == (15, "improved")
    assert (by["R", "2", "phq9"]["first"], by["R", "2", "phq9"]["change"]) == (11, "deteriorated")
    assert by["S", "1", "phq9"]["paired"] is False
    assert by["J", "1", "phq9+gad7"]["reliably_recovered"] is True
    phq9 = data["summary"]["phq9"]
    assert (phq9["episodes"], phq9["paired"]) == (4, 3)  # R/1, R/2, J/1, S/1
    assert phq9["reliable_improvement_rate"] == pytest.approx(1 / 3)
    assert phq9["recovery_rate"] == pytest.approx(2 / 3)  # R/1 and J/1 of R/1, R/2, J/1
    assert {"reliable_deterioration_rate", "reliable_recovery_rate", "effect_size"} <= set(phq9)
    assert set(data["summary"]) == {"phq9", "gad7", "phq9+gad7"}
    assert data["alliance_outcome"] is None  # no alliance measure in the file


def test_csv_prints_one_row_per_episode_and_measure(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, CLINIC, "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 + 4 + 4  # phq9, gad7 and joint for each of the four episodes
    first = next(r for r in rows if (r["client_id"], r["instrument"]) == ("R", "phq9"))
    assert first["episode"] == "1" and first["change"] == "improved"


def test_missing_items_are_prorated_and_too_many_leave_the_score_out(tmp_path: Path) -> None:
    # Eight items of 2 and one missing: 16 * 9 / 8 = 18. Three missing: unscorable.
    body = (
        "P,1,1,,phq9,,2,2,2,2,2,2,2,2,\n"
        + row("P", "1", 2, "phq9", "10")
        + "Q,1,1,,phq9,,2,2,2,2,2,2,,,\n"
        + row("Q", "1", 2, "phq9", "10")
    )
    code, out, _ = run(tmp_path, body, "--json")
    assert code == 0
    by = {e["client_id"]: e for e in json.loads(out)["episodes"]}
    assert by["P"]["first"] == 18 and by["P"]["change"] == "improved"
    assert by["Q"]["n_scores"] == 1 and by["Q"]["paired"] is False


def test_episodes_file_adds_dropout_and_unscored_episodes(tmp_path: Path) -> None:
    episodes = tmp_path / "episodes.csv"
    episodes.write_text(
        "client_id,episode,ended,ending\nR,1,2026-02-01,planned\nR,2,2026-03-01,unplanned\n"
        "N,1,2026-03-05,unplanned\n",
        "utf-8",
    )
    code, out, _ = run(tmp_path, CLINIC, "--json", "--episodes", str(episodes))
    assert code == 0
    data = json.loads(out)
    assert data["dropout"]["ended"] == 3 and data["dropout"]["dropout_count"] == 2
    # N ended with no scores: an episode that counts against completeness.
    assert data["summary"]["phq9"]["episodes"] == 5 and data["summary"]["phq9"]["paired"] == 3


def test_alliance_outcome_in_json_when_there_are_enough_data(tmp_path: Path) -> None:
    from alliance.core.outcomes.simulate import AllianceEffects, simulate

    lines = []
    effects = AllianceEffects(within=-3.0, client_sd=0.3)
    for e in simulate(60, 9, effects=effects, observations=False):
        for s, (y, a) in enumerate(zip(e.phq9, e.alliance, strict=True), 1):
            lines.append(row(e.client_id, "1", s, "phq9", str(y)))
            lines.append(row(e.client_id, "1", s, "alliance_check", str(a)))
    code, out, _ = run(tmp_path, "".join(lines), "--json")
    assert code == 0
    fitted = json.loads(out)["alliance_outcome"]
    assert fitted["alliance_instrument"] == "alliance_check"
    assert fitted["outcome_instrument"] == "phq9"
    assert {"estimate", "ci_low", "ci_high"} <= set(fitted["within"]) and fitted["n_episodes"] == 60
    assert fitted["within"]["ci_high"] < 0
    code, out, _ = run(tmp_path, "".join(lines))
    assert code == 0 and "Alliance and outcome" in out and "PHQ-9" in out


def test_text_output_shows_national_figures(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, CLINIC)
    assert code == 0 and "national" in out and "reliable recovery" in out


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        (row("A", "1", 1, "phq9", "x"), (), "line 2: total 'x' is not a number"),
        (
            row("A", "1", 1, "phq9", "5") + row("A", "1", 1, "phq9", "7"),
            (),
            "line 3: phq9 session 1",
        ),
        (row("A", "1", 1, "nope", "5"), (), "line 2: unknown instrument 'nope'"),
        (row("A", "1", 1, "phq9", "5"), ("--json", "--csv"), "choose one of --json and --csv"),
        (row("A", "1", 1, "phq9", "5"), ("--outcome", "srs"), "--outcome must be one of"),
        (row("A", "1", 1, "phq9", "5"), ("--alliance", "phq9"), "--alliance must be one of"),
    ],
)
def test_bad_input_is_one_error_line(
    tmp_path: Path, body: str, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(tmp_path, body, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_bad_episodes_file_names_the_line(tmp_path: Path) -> None:
    episodes = tmp_path / "episodes.csv"
    episodes.write_text("client_id,ended,ending\nA,2026-02-30,planned\n", "utf-8")
    code, _, err = run(tmp_path, CLINIC, "--episodes", str(episodes))
    assert code == 2 and "line 2: ended '2026-02-30' is not YYYY-MM-DD" in err


def test_alerts_scan_follows_each_episode_of_a_returning_client(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + CLINIC, "utf-8")
    result = CliRunner().invoke(app, ["alerts", "scan", str(path), "--json"])
    assert result.exit_code == 0
    flagged = {(r["client_id"], r["kind"]) for r in json.loads(result.stdout)}
    assert ("R/2", "reliable_deterioration") in flagged  # 11 -> 18 in the second episode only
    assert not any(c == "R/1" for c, _ in flagged)

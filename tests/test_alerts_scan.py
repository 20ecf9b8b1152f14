"""``alliance alerts scan``: the CSV format, its errors, and the JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app

HEADER = "client_id,session,date,instrument,total,item1,item2,item3,item4,item5,item6,item7,item8,item9\n"


def scan(tmp_path: Path, body: str, *args: str, header: str = HEADER) -> tuple[int, str, str]:
    path = tmp_path / "scores.csv"
    path.write_text(header + body, "utf-8")
    result = CliRunner().invoke(app, ["alerts", "scan", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_scan_json_lists_each_kind(tmp_path: Path) -> None:
    body = (
        "A,1,2026-01-05,phq9,10,,,,,,,,,\n"
        "A,2,2026-01-12,phq9,17,2,2,2,2,2,2,2,2,1\n"
        "B,1,2026-01-05,alliance_check,4.6,,,,,,,,,\n"
        "B,2,2026-01-12,alliance_check,3.6,,,,,,,,,\n"
        "C,1,2026-01-05,gad7,12,,,,,,,,,\n"
        + "".join(f"C,{s},2026-01-{10 + s},gad7,11,,,,,,,,,\n" for s in range(2, 7))
        + "D,1,2026-01-05,phq9,15,,,,,,,,,\nD,2,2026-01-12,phq9,15,,,,,,,,,\nD,3,2026-01-19,phq9,19,,,,,,,,,\n"
    )
    code, out, _ = scan(tmp_path, body, "--json")
    assert code == 0
    rows = json.loads(out)
    assert all({"client_id", "session", "kind", "rule", "detail"} <= set(r) for r in rows)
    kinds = {(r["client_id"], r["kind"]) for r in rows}
    assert ("A", "risk") in kinds and ("A", "reliable_deterioration") in kinds
    assert ("B", "alliance_rupture") in kinds
    assert ("C", "no_reliable_change") in kinds
    assert ("D", "not_on_track") in kinds


def test_scan_scores_items_when_total_is_empty(tmp_path: Path) -> None:
    code, out, _ = scan(tmp_path, "A,1,2026-01-05,phq9,,3,3,3,3,3,3,3,3,0\n", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = scan(tmp_path, "A,1,,phq9,5,,,,,,,,,\nA,2,,phq9,,3,3,3,3,3,3,3,3,0\n", "--json")
    assert {r["kind"] for r in json.loads(out)} == {"reliable_deterioration"}


def test_scan_text_summary(tmp_path: Path) -> None:
    code, out, _ = scan(tmp_path, "B,1,2026-01-05,alliance_check,3.0,,,,,,,,,\n")
    assert code == 0 and "1 alerts for 1 of 1 clients" in out


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        ("A,1,,phq9,5\n", "client_id,session,instrument,total\n", "missing column(s): date"),
        ("A,x,,phq9,5,,,,,,,,,\n", HEADER, "line 2: session 'x' is not a whole number"),
        ("A,1,,bdi,5,,,,,,,,,\n", HEADER, "line 2: unknown instrument 'bdi'"),
        ("A,1,,phq9,five,,,,,,,,,\n", HEADER, "line 2: total 'five' is not a number"),
        ("A,1,5/1/26,phq9,5,,,,,,,,,\n", HEADER, "line 2: date '5/1/26' is not YYYY-MM-DD"),
        ("A,1,,phq9,,9,,,,,,,,\n", HEADER, "answer 1 (phq9_1) = 9"),
        ("", HEADER, "no rows"),
    ],
)
def test_scan_errors_name_the_line(tmp_path: Path, body: str, header: str, message: str) -> None:
    code, _, err = scan(tmp_path, body, header=header)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_scan_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "Jos\xe9,1,,phq9,5,,,,,,,,,\n").encode("latin-1"))
    result = CliRunner().invoke(app, ["alerts", "scan", str(path)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_nn_method_needs_a_reference(tmp_path: Path) -> None:
    code, _, err = scan(tmp_path, "A,1,,phq9,5,,,,,,,,,\n", "--method", "nn")
    assert code == 2 and "needs --reference" in err

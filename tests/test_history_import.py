"""``alliance import scores``: past scores into the web app, all or nothing, idempotent, audited.

Runs the real command (typer's runner, in this process) and the real services against the test
database; the clinic world is tests/web_fixtures.py's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from typer.testing import CliRunner

from alliance.cli import app
from alliance.core.alerts.scores_csv import parse_rows
from alliance.core.errors import InvalidAnswersError
from alliance.core.scoring import score_total
from alliance.web.alerts.models import Alert, ReferenceState
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Administration, Client, Episode, Session
from alliance.web.clinic.services import create_client
from alliance.web.interop.history_import import ImportRefused, import_scores
from alliance.web.outcomes.data import load

from .web_fixtures import World

pytestmark = pytest.mark.web

HEADER = "client_id,episode,session,date,instrument,total," + ",".join(
    f"item{n}" for n in range(1, 10)
)
# EXT-1: two episodes; item 9 of the first PHQ-9 is answered 1 (a risk answer). EXT-2: totals only.
SCORES = f"""{HEADER}
EXT-1,1,1,2024-01-08,phq9,,2,2,2,2,2,2,2,2,1
EXT-1,1,1,2024-01-08,alliance_check,,4,4,4,4,4,,,,
EXT-1,1,2,2024-01-15,phq9,,1,1,1,1,1,1,1,1,0
EXT-1,1,2,2024-01-15,alliance_check,,2,2,2,2,2,,,,
EXT-1,2,1,2024-06-03,phq9,12,,,,,,,,,
EXT-2,,1,2024-02-01,gad7,15,,,,,,,,,
EXT-2,,2,2024-02-08,gad7,9,,,,,,,,,
"""
ENDINGS = """client_id,episode,ended,ending
EXT-1,1,2024-01-20,planned
"""


def run(tmp_path: Path, scores: str, *args: str, endings: str | None = ENDINGS) -> tuple[int, str]:
    path = tmp_path / "scores.csv"
    path.write_text(scores, encoding="utf-8")
    extra = []
    if endings is not None:
        (tmp_path / "episodes.csv").write_text(endings, encoding="utf-8")
        extra = ["--episodes", str(tmp_path / "episodes.csv")]
    result = CliRunner().invoke(app, ["import", "scores", str(path), *extra, *args])
    return result.exit_code, result.output


def snapshot() -> dict[str, object]:
    """Everything an import may write, to compare before and after."""
    return {
        "clients": list(Client.objects.order_by("id").values_list("id", "counselor_id")),
        "episodes": list(Episode.objects.order_by("id").values_list("id", "closed_on", "ending")),
        "sessions": list(Session.objects.order_by("id").values_list("id", "date", "status")),
        "administrations": list(
            Administration.objects.order_by("id").values_list("id", "total", "completed_at")
        ),
        "alerts": list(Alert.objects.order_by("id").values_list("id", "status", "session_number")),
        "reference": list(ReferenceState.objects.values_list("clinic_id", "token")),
    }


def imports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="scores_import").order_by("id"))


def test_import_creates_the_history_with_alerts_and_one_audit_event(
    world: World, tmp_path: Path
) -> None:
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "couns_a")
    assert code == 0, out
    assert "imported: 2 new clients" in out and "7 new scores" in out
    clients = {c.external_id: c for c in Client.objects.filter(clinic=world.clinic)}
    one, two = clients["EXT-1"], clients["EXT-2"]
    assert one.counselor == world.counselor and two.counselor == world.counselor
    first, second = one.episodes.order_by("opened_on")
    assert (str(first.opened_on), str(first.closed_on), first.ending) == (
        "2024-01-08",
        "2024-01-20",
        "planned",
    )
    assert str(second.opened_on) == "2024-06-03" and second.closed_on is None
    phq9 = Administration.objects.get(session__episode=first, session__number=1, instrument="phq9")
    assert phq9.total == 17 and phq9.answers["phq9_9"] == 1 and phq9.channel == "staff"
    total_only = Administration.objects.get(session__episode=second, instrument="phq9")
    assert total_only.total == 12 and total_only.answers == {}
    assert total_only.score["severity"] == "moderate"
    assert [s.date.isoformat() for s in two.episodes.get().sessions.all()] == [
        "2024-02-01",
        "2024-02-08",
    ]
    rules = set(Alert.objects.filter(client=one).values_list("rule", flat=True))
    assert "risk:item9" in rules and "alliance:below_cutoff" in rules
    [event] = imports()
    assert event.outcome == "ok" and event.clinic_id_ref == world.clinic.pk
    assert event.object_id.startswith("c2 e3 s5 a7 al")
    assert "EXT" not in event.object_id


def test_imported_risk_answers_raise_safety_alerts_without_emails(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """An old answer is on the caseload as a safety alert, but nobody is emailed about it as if
    it had just been given."""
    world.counselor.email = "couns_a@example.org"
    world.counselor.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        import_scores(SCORES, "Clinic A", "couns_a", endings_text=ENDINGS)
    risk = Alert.objects.get(client__external_id__isnull=False, rule="risk:item9",
                             client__episodes__opened_on="2024-01-08")  # fmt: skip
    assert risk.severity == "safety" and risk.status == "open" and not risk.notify_pending
    assert mail.outbox == []


def test_a_second_run_changes_nothing(world: World, tmp_path: Path) -> None:
    assert run(tmp_path, SCORES, "--clinic", str(world.clinic.pk), "--counselor", "couns_a")[0] == 0
    before = snapshot()
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "couns_a")
    assert code == 0, out
    assert "0 new clients (2 matched), 0 new episodes" in out
    assert "0 new sessions, 0 new scores (7 already there), 0 alerts raised" in out
    assert snapshot() == before


def test_a_dry_run_reports_and_writes_nothing(world: World, tmp_path: Path) -> None:
    before = snapshot()
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "couns_a", "--dry-run")
    assert code == 0, out
    assert out.startswith("would import: 2 new clients") and "7 new scores" in out
    assert snapshot() == before
    assert [e.outcome for e in imports()] == ["dry_run"]


def test_a_bad_line_refuses_the_whole_file_and_names_the_line(world: World, tmp_path: Path) -> None:
    # Line 8 passes the reader but its total is past the GAD-7's range: found while writing,
    # after the lines above it were written, so this checks the rollback.
    bad = SCORES + "EXT-3,,1,2024-03-01,gad7,40,,,,,,,,,\n"
    before = snapshot()
    code, out = run(tmp_path, bad, "--clinic", "Clinic A", "--counselor", "couns_a")
    assert code == 2
    assert "line 9" in out and "outside 0-21" in out
    assert snapshot() == before
    code, out = run(
        tmp_path, SCORES.replace("2024-02-08", "2024-02-31"), "--clinic", "Clinic A",
        "--counselor", "couns_a",
    )  # fmt: skip
    assert code == 2 and "line 8" in out and "YYYY-MM-DD" in out
    assert snapshot() == before
    assert [e.outcome for e in imports()] == ["refused", "refused"]


def test_a_changed_score_on_a_second_run_is_refused(world: World, tmp_path: Path) -> None:
    assert run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "couns_a")[0] == 0
    before = snapshot()
    changed = SCORES.replace("gad7,9,", "gad7,10,")
    code, out = run(tmp_path, changed, "--clinic", "Clinic A", "--counselor", "couns_a")
    assert code == 2 and "line 8" in out and "already recorded with other answers" in out
    assert snapshot() == before


def test_the_counselor_must_belong_to_the_clinic(world: World, tmp_path: Path) -> None:
    before = snapshot()
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "couns_x")
    assert code == 2 and "'couns_x' is not an active member of clinic" in out
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic A", "--counselor", "admin_a")
    assert code == 2 and "not a counselor or supervisor" in out
    code, out = run(tmp_path, SCORES, "--clinic", "Clinic Z", "--counselor", "couns_a")
    assert code == 2 and "error: no clinic 'Clinic Z'" in out
    code, out = run(tmp_path, SCORES, "--clinic", "999999", "--counselor", "couns_a")
    assert code == 2 and "no clinic '999999'" in out
    assert snapshot() == before


def test_a_client_on_another_caseload_is_not_touched(world: World) -> None:
    create_client(world.clinic, world.south_counselor, "Someone", external_id="EXT-2")
    before = snapshot()
    with pytest.raises(ImportRefused, match=r"line 7: this client is on a caseload couns_a"):
        import_scores(SCORES, "Clinic A", "couns_a", endings_text=ENDINGS)
    assert snapshot() == before


def test_an_open_episode_before_a_new_one_is_refused(world: World) -> None:
    before = snapshot()
    with pytest.raises(ImportRefused, match=r"line 6: .*still open.*episodes file"):
        import_scores(SCORES, "Clinic A", "couns_a")
    assert snapshot() == before


def test_the_outcomes_page_reads_the_imported_episodes(world: World) -> None:
    """The outcomes page's loader sees imported episodes as any others: their scores, their
    attended sessions and how they ended."""
    import_scores(SCORES, "Clinic A", "couns_a", endings_text=ENDINGS)
    closed = Episode.objects.filter(client__clinic=world.clinic, closed_on__isnull=False)
    cohort = load(closed, ["phq9", "alliance_check"])
    [row] = cohort.episodes
    assert row.ending == "planned" and row.counselor_id == world.counselor.pk
    assert cohort.of("phq9", row.pk) == [(1, 17.0), (2, 8.0)]
    assert cohort.of("alliance_check", row.pk) == [(1, 4.0), (2, 2.0)]
    assert cohort.attended[row.pk] == 2


def test_a_total_alone_gets_its_band_and_caseness_but_no_item_flags(
    instruments: dict[str, Any],
) -> None:
    scored = score_total(instruments["phq9"], 12)
    assert (scored.total, scored.severity, scored.case) == (12, "moderate", True)
    assert scored.risk == [] and scored.flags == ["total_only"] and scored.answered == 0
    with pytest.raises(InvalidAnswersError, match="outside 0-27"):
        score_total(instruments["phq9"], 28)


def test_the_scores_reader_keeps_each_rows_date(instruments: dict[str, Any]) -> None:
    parsed = parse_rows(SCORES, instruments)
    assert parsed.date[:2] == ["2024-01-08", "2024-01-08"] and parsed.date[-1] == "2024-02-08"

"""``alliance export research``: the demo clinic, de-identified.

The demo clinic is built as the demo builds it (``alliance.web.demo.seed``), given the
identifiers the demo itself leaves out (external ids, a phone number, an acknowledgement note),
exported by the real command, and every exported file is searched for every identifying value.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli import app
from alliance.core.transcripts.readers import read_transcript
from alliance.demo_data import transcript_path
from alliance.web.accounts.models import User
from alliance.web.accounts.services import create_operator
from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import acknowledge
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Administration, Client, Episode
from alliance.web.demo import seed
from alliance.web.interop.research_export import DICTIONARY, PSEUDONYM_HEX
from alliance.web.messaging.models import Contact
from alliance.web.transcripts.models import ClinicTranscripts, Transcript

pytestmark = pytest.mark.web

KEY = b"k" * 40
NOTE = "Talked through the safety plan with her sister present"
PHONE = "+447700900123"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def demo(db: object, data_dir: Path) -> list[Client]:
    seed("research-pass-123", history=20)
    clients = list(Client.objects.order_by("id"))
    for client in clients:
        client.external_id = f"MRN-{900000 + client.pk}"
        client.save(update_fields=["external_id"])
    contact = Contact.objects.filter(email__isnull=False).first() or Contact(client=clients[0])
    contact.mobile, contact.consent_note = PHONE, "Agreed by phone with Dr Okafor"
    contact.save()
    admin = User.objects.get(username="admin")
    alert = Alert.objects.filter(status="open").first()
    assert alert is not None
    assert acknowledge(alert, admin, NOTE)
    return clients


def export(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["export", "research", "--output", str(tmp_path), *args])
    return result.exit_code, result.output


def exported(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def identifying_values(clients: list[Client]) -> set[str]:
    """Every name, id, contact detail, note and utterance of the demo clinic."""
    values = {NOTE, PHONE}
    for client in clients:
        values |= {client.display_name, client.external_id}
        values |= {w for w in client.display_name.replace(".", " ").split() if len(w) > 2}
    for contact in Contact.objects.all():
        values |= {contact.email, contact.mobile, contact.first_name, contact.consent_note}
    for transcript in Transcript.objects.all():
        values |= {transcript.filename, transcript.counselor_speaker}
    for name in {t.filename for t in Transcript.objects.all()}:
        for utterance in read_transcript(transcript_path(name)).utterances:
            values |= {utterance.text, utterance.speaker}
    values |= {note for note in Alert.objects.values_list("note", flat=True)}
    return {v for v in values if v and len(v) > 2}


def shifts_by_client(files: dict[str, str]) -> dict[str, set[int]]:
    """Per client pseudonym, the day differences between exported and true dates of its
    episodes (opened, closed) and administrations (session date)."""
    episodes = {pseudonym("episode", e.pk): e for e in Episode.objects.all()}
    sessions = {
        pseudonym("administration", a.pk): a.session.date
        for a in Administration.objects.filter(status="completed").select_related("session")
    }
    shifts: dict[str, set[int]] = {}

    def add(client: str, exported: str, true: dt.date | None) -> None:
        if true is not None:
            days = (dt.date.fromisoformat(exported) - true).days
            shifts.setdefault(client, set()).add(days)

    for row in csv.DictReader(files["episodes.csv"].splitlines()):
        episode = episodes[row["episode"]]
        add(row["client"], row["opened"], episode.opened_on)
        add(row["client"], row["closed"] or "1900-01-01", episode.closed_on)
    for row in csv.DictReader(files["administrations.csv"].splitlines()):
        add(row["client"], row["date"], sessions[row["administration"]])
    return shifts


def pseudonym(kind: str, pk: int) -> str:
    return hmac.new(KEY, f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def test_no_identifying_value_reaches_the_export(demo: list[Client], tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    out = tmp_path / "out"
    code, said = export(out, "--user", "admin", "--key-file", str(key_file))
    assert code == 0, said
    files = exported(out)
    assert set(files) == {*DICTIONARY, "data_dictionary.csv"}
    text = "\n".join(files.values())
    leaked = sorted(v for v in identifying_values(demo) if v in text)
    assert not leaked
    # Dates move by one non-zero offset per client: no exported date is its record's true date,
    # and intervals are kept. (Grepping for a client's dates would not do: a shift of whole
    # weeks lands one weekly session on another's date.)
    shifts = shifts_by_client(files)
    for client in demo:
        assert len(shifts[pseudonym("client", client.pk)]) == 1
        [days] = shifts[pseudonym("client", client.pk)]
        assert days != 0 and abs(days) <= 365
    assert str(demo[0].pk) not in {r.split(",")[0] for r in files["episodes.csv"].splitlines()}
    counselors = {pseudonym("client", c.pk): pseudonym("counselor", c.counselor_id) for c in demo}
    for row in csv.DictReader(files["episodes.csv"].splitlines()):
        assert row["counselor"] == counselors[row["client"]]
    counts = {name: len(files[name].splitlines()) - 1 for name in DICTIONARY}
    assert counts["episodes.csv"] == Episode.objects.count()
    assert counts["alerts.csv"] == Alert.objects.count() > 0
    assert counts["transcript_metrics.csv"] > 0
    [event] = AuditEvent.objects.filter(action="research_export")
    assert event.username == "admin" and event.outcome == "ok"


def test_days_since_intake_leaves_no_date_at_all(demo: list[Client], tmp_path: Path) -> None:
    code, said = export(tmp_path, "--user", "admin", "--days-since-intake")
    assert code == 0, said
    files = exported(tmp_path)
    for name in DICTIONARY:
        assert not ISO_DATE.search(files[name]), name
    opened = [row["opened"] for row in csv.DictReader(files["episodes.csv"].splitlines())]
    assert "0" in opened and all(int(v) >= 0 for v in opened)


def test_the_dictionary_describes_every_column(demo: list[Client], tmp_path: Path) -> None:
    assert export(tmp_path, "--user", "admin")[0] == 0
    files = exported(tmp_path)
    described = {
        (row["file"], row["column"])
        for row in csv.DictReader(files["data_dictionary.csv"].splitlines())
    }
    for name in DICTIONARY:
        header = files[name].splitlines()[0].split(",")
        for column in header:
            column = "item1..itemN" if re.fullmatch(r"item\d+", column) else column
            assert (name, column) in described, (name, column)


def test_pseudonyms_are_new_each_export_unless_the_key_is_kept(
    demo: list[Client], tmp_path: Path
) -> None:
    def first_ids(folder: Path, *args: str) -> list[str]:
        assert export(folder, "--user", "admin", *args)[0] == 0
        return [r.split(",")[1] for r in exported(folder)["episodes.csv"].splitlines()[1:]]

    (tmp_path / "key").write_bytes(KEY)
    kept = ("--key-file", str(tmp_path / "key"))
    assert first_ids(tmp_path / "a") != first_ids(tmp_path / "b")
    assert first_ids(tmp_path / "c", *kept) == first_ids(tmp_path / "d", *kept)
    (tmp_path / "short").write_bytes(b"short")
    code, said = export(tmp_path / "e", "--user", "admin", "--key-file", str(tmp_path / "short"))
    assert code == 2 and "at least 32 bytes" in said


def test_only_admins_and_operators_export(demo: list[Client], tmp_path: Path) -> None:
    for username in ("counselor", "supervisor"):
        code, said = export(tmp_path / username, "--user", username)
        assert code == 2 and "for the clinic's admins and operators" in said
        assert not (tmp_path / username).exists()
    assert export(tmp_path / "x", "--user", "nobody")[0] == 2
    create_operator("ops-research", "", "ops-Password-123-long")
    code, said = export(tmp_path / "ops", "--user", "ops-research")
    assert code == 2 and "--clinic" in said
    clinic = User.objects.get(username="admin").clinic_id
    code, said = export(tmp_path / "ops", "--user", "ops-research", "--clinic", str(clinic))
    assert code == 0, said
    outcomes = list(
        AuditEvent.objects.filter(action="research_export")
        .order_by("id")
        .values_list("username", "outcome")
    )
    assert outcomes == [
        ("counselor", "denied"),
        ("supervisor", "denied"),
        ("ops-research", "ok"),
    ]


def test_the_docs_carry_the_data_dictionary() -> None:
    text = (Path(__file__).parents[1] / "docs" / "research-export.md").read_text("utf-8")
    for name, columns in DICTIONARY.items():
        assert f"### `{name}`" in text
        for column, meaning in columns:
            assert f"| `{column}` | {meaning} |" in text, (name, column)


def test_the_command_joins_an_export_group_made_before_it() -> None:
    """``alliance export`` may be made by another module (``export fhir``): research joins it."""
    import typer

    from alliance.cli import research_export

    outer = typer.Typer()
    group = typer.Typer()
    group.command("other")(lambda: None)
    outer.add_typer(group, name="export")
    research_export.register(outer)
    assert [g.name for g in outer.registered_groups] == ["export"]
    said = CliRunner().invoke(outer, ["export", "--help"]).output
    assert "research" in said and "other" in said


def test_the_sole_clinic_admin_is_the_default_user(demo: list[Client], tmp_path: Path) -> None:
    code, said = export(tmp_path)
    assert code == 0, said
    assert AuditEvent.objects.get(action="research_export").username == "admin"


def test_empathy_values_leave_only_while_the_clinic_has_the_research_pack_on(
    demo: list[Client], tmp_path: Path
) -> None:
    """Metrics stored while the research pack was on stay behind once it is off."""
    transcript = Transcript.objects.exclude(metrics={}).first()
    assert transcript is not None
    transcript.metrics = {**transcript.metrics, "empathy_emotional_reactions": 0.5}
    transcript.save(update_fields=["metrics"])
    clinic = demo[0].clinic

    def metric_keys(out: Path) -> set[str]:
        assert export(out, "--user", "admin")[0] == 0
        rows = csv.DictReader(exported(out)["transcript_metrics.csv"].splitlines())
        return {row["metric"] for row in rows}

    assert "empathy_emotional_reactions" not in metric_keys(tmp_path / "off")
    ClinicTranscripts.objects.create(clinic=clinic, research_pack=True)
    assert "empathy_emotional_reactions" in metric_keys(tmp_path / "on")

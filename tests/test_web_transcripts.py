"""Transcript feedback in the clinic app: upload, background analysis by the real database worker,
the report, permissions, audit, encryption at rest and the clinic's deletion policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from alliance.web.accounts.models import TranscriptDeletion
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.services import record_administration, registry
from alliance.web.transcripts.models import Transcript
from alliance.web.transcripts.jobs import claim
from alliance.web.transcripts.services import (
    MAX_UPLOAD_BYTES,
    analyse_claimed,
    delete_transcript,
)
from alliance.web.transcripts.summaries import counselor_skills

from .web_fixtures import ALLIANCE_ANSWERS, World, logged_in

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"

# The worker commits and checks its connections as in production, so these tests run with real
# transactions rather than inside one rolled-back test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _session_pk(world: World) -> int:
    return int(world.own.current_episode().sessions.get().pk)  # type: ignore[union-attr]


def upload(
    world: World, name: str, capture: Any, data: bytes | None = None, user: Any = None
) -> Any:
    http = logged_in(user or world.counselor)
    body = data if data is not None else (FIXTURES / name).read_bytes()
    with capture(execute=True):
        return http.post(
            reverse("transcripts:upload"),
            {"session": str(_session_pk(world)), "file": SimpleUploadedFile(name, body)},
        )


def run_worker() -> None:
    """The real django-tasks database worker, processing the queue once."""
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


@pytest.mark.parametrize("name", ["zoom.vtt", "teams.vtt"])
def test_upload_is_queued_then_analysed_by_the_worker(
    world: World, name: str, django_capture_on_commit_callbacks: Any
) -> None:
    response = upload(world, name, django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "transcripts:detail", args=[transcript.pk]
    )
    assert transcript.status == "queued"
    page = logged_in(world.counselor).get(response.url).content.decode()
    assert "Waiting for analysis" in page and 'http-equiv="refresh"' in page
    run_worker()
    transcript.refresh_from_db()
    assert transcript.status == "done", transcript.error
    assert transcript.metrics["utterances"] > 0 and "rq" in transcript.metrics
    page = logged_in(world.counselor).get(response.url).content.decode()
    assert "Metrics against published thresholds" in page
    assert "Reflection-to-question ratio" in page and "MITI 4.2.1" in page
    assert "<svg" in page and "Coded utterances" in page
    assert 'http-equiv="refresh"' not in page


def test_report_filters_utterances_by_code(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    transcript = Transcript.objects.get()
    http = logged_in(world.counselor)
    url = reverse("transcripts:detail", args=[transcript.pk])
    everything = http.get(url).content.decode().count('<tr class="role-')
    rows = json.loads(str(transcript.report))["utterances"]
    talk = next(r["client_talk"] for r in rows if r["role"] == "client")
    expected = sum(1 for r in rows if r["client_talk"] == talk)
    clients_only = http.get(f"{url}?code={talk}").content.decode()
    assert clients_only.count('<tr class="role-client"') == expected < everything
    assert '<tr class="role-counselor"' not in clients_only


def test_report_sits_beside_the_clients_alliance_rating(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    record_administration(session, registry().get("alliance_check"), ALLIANCE_ANSWERS, "staff")
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    page = (
        logged_in(world.counselor)
        .get(reverse("transcripts:detail", args=[Transcript.objects.get().pk]))
        .content.decode()
    )
    assert "The client's view of this session" in page and "Alliance check" in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "choose a transcript file"),
        ("binary.bin", None, "the file looks binary"),
        ("unknown.txt", None, "unknown format"),
        ("big.vtt", b"WEBVTT\n\n" + b"x" * (MAX_UPLOAD_BYTES + 1), "the limit is"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_leave_the_session_untouched(
    world: World,
    name: str,
    data: bytes | None,
    message: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = upload(world, name, django_capture_on_commit_callbacks, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "Nothing was stored" in page
    assert not Transcript.objects.exists()
    assert AuditEvent.objects.filter(action="transcript_upload", outcome="rejected").count() == 1


def test_malformed_cues_are_skipped_with_a_warning(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "malformed.vtt", django_capture_on_commit_callbacks)
    run_worker()
    transcript = Transcript.objects.get()
    page = (
        logged_in(world.counselor)
        .get(reverse("transcripts:detail", args=[transcript.pk]))
        .content.decode()
    )
    assert transcript.status == "done" and "malformed VTT cue" in page


def test_transcript_text_is_encrypted_at_rest(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, report, timeline, filename FROM transcripts_transcript")
        raw = " ".join(str(v) for v in cursor.fetchone())
    spoken = (FIXTURES / "zoom.vtt").read_text("utf-8").splitlines()[4].split(":", 1)[1].strip()
    assert spoken and spoken[:20] not in raw and "zoom.vtt" not in raw


def test_another_counselor_cannot_see_or_delete_the_transcript(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    for user in (world.south_counselor, world.foreign_counselor):
        http = logged_in(user)
        assert http.get(reverse("transcripts:detail", args=[transcript.pk])).status_code == 404
        assert http.post(reverse("transcripts:delete", args=[transcript.pk])).status_code == 404
    assert Transcript.objects.filter(pk=transcript.pk).exists()
    assert AuditEvent.objects.filter(action="transcript_view", outcome="denied").count() == 2


def test_views_uploads_and_deletes_are_audited(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    http = logged_in(world.counselor)
    http.get(reverse("transcripts:detail", args=[transcript.pk]))
    http.post(reverse("transcripts:delete", args=[transcript.pk]))
    actions = set(AuditEvent.objects.filter(user=world.counselor).values_list("action", flat=True))
    assert {"transcript_upload", "transcript_view", "transcript_delete"} <= actions


def test_delete_keeps_numeric_metrics_by_default(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    transcript = Transcript.objects.get()
    metrics = dict(transcript.metrics)
    response = logged_in(world.counselor).post(reverse("transcripts:delete", args=[transcript.pk]))
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert (transcript.text, transcript.report, transcript.timeline) == ("", "", "")
    assert transcript.metrics == metrics and transcript.text_deleted_at is not None
    page = (
        logged_in(world.counselor)
        .get(reverse("transcripts:detail", args=[transcript.pk]))
        .content.decode()
    )
    assert "text was deleted" in page and "Coded utterances" not in page
    client_page = (
        logged_in(world.counselor)
        .get(reverse("dashboard:client", args=[world.own.pk]))
        .content.decode()
    )
    assert "Counselor skills from session transcripts" in client_page


def test_delete_all_policy_removes_everything(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    world.clinic.transcript_deletion = TranscriptDeletion.DELETE_ALL
    world.clinic.save()
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    logged_in(world.counselor).post(reverse("transcripts:delete", args=[transcript.pk]))
    assert not Transcript.objects.exists()


def test_supervisor_sees_counselor_skill_averages(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    page = logged_in(world.supervisor).get(reverse("dashboard:team")).content.decode()
    assert "Transcript skill metrics" in page and "not for ranking" in page
    row = page[page.index("Transcript skill metrics") :]
    assert "couns_a" in row


def test_deleting_a_queued_transcript_ends_its_wait(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    logged_in(world.counselor).post(reverse("transcripts:delete", args=[transcript.pk]))
    run_worker()
    transcript.refresh_from_db()
    assert transcript.status == "failed" and "deleted before" in transcript.error
    page = (
        logged_in(world.counselor)
        .get(reverse("transcripts:detail", args=[transcript.pk]))
        .content.decode()
    )
    assert 'http-equiv="refresh"' not in page


def test_text_deleted_while_the_analysis_ran_never_comes_back(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    owner = claim(Transcript.objects.get().pk)  # a worker took the job ...
    assert owner is not None
    in_flight = Transcript.objects.get()  # ... and holds the text in memory
    delete_transcript(Transcript.objects.get())
    analyse_claimed(in_flight, owner)
    stored = Transcript.objects.get()
    assert (stored.text, stored.report, stored.timeline) == ("", "", "")
    assert stored.metrics["utterances"] > 0 and stored.status == "done"


def test_re_uploading_a_session_counts_it_once_for_supervision(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    assert Transcript.objects.filter(status="done").count() == 2
    assert counselor_skills(world.counselor).sessions == 1

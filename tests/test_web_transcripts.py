"""Transcript feedback in the clinic app: upload, background analysis by the real database worker,
the report, permissions, audit, encryption at rest and the clinic's deletion policy."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alliance.core.transcripts import report
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.presentation import metric_rows
from alliance.core.transcripts.readers import read_transcript
from alliance.web.accounts.models import TranscriptDeletion
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.services import record_administration, registry
from alliance.web.limits import MAX_FILE_IN_MEMORY
from alliance.web.transcripts import jobs
from alliance.web.transcripts.jobs import TASK_PATH, claim
from alliance.web.transcripts.models import Transcript
from alliance.web.transcripts.services import MAX_UPLOAD_BYTES, delete_transcript
from alliance.web.transcripts.summaries import counselor_skills
from alliance.web.transcripts.tasks import recover_stale, run_claimed, run_transcript_job

from .web_fixtures import ALLIANCE_ANSWERS, World, logged_in

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
CUE = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"
SPEAKERS = b"Dana: How are you?\nSam: Fine, thanks.\n"

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
        # over what is kept in memory: the file part is dropped unread, and the limit named
        ("huge.vtt", b"WEBVTT\n\n" + b"x" * (MAX_FILE_IN_MEMORY + 1), "over the limit of"),
        # Random bytes without NUL used to be read as hundreds of "utterances".
        ("random.bin", random.Random(3).randbytes(100_000).replace(b"\0", b"\1"), "looks binary"),
        ("lt.vtt", CUE + b"<" * 160_000, "line 4 is 160,000 characters long; the limit is 20,000"),
        ("many.txt", SPEAKERS * 5_001, "more than 10,000 speaker turns; split it into sessions"),
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
    run_claimed(in_flight, owner)
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
    skills = counselor_skills([world.counselor.pk])[world.counselor.pk]
    assert skills.sessions == 1
    newest = Transcript.objects.filter(status="done").order_by("-uploaded_at", "-id").first()
    assert newest is not None
    assert skills.averages["rq"] == round(newest.metrics["rq"], 2)


def _stale(transcript: Transcript, **fields: Any) -> None:
    """As a dead worker leaves it: RUNNING, last heartbeat long before the lease ran out."""
    fields.setdefault("status", "running")
    long_ago = timezone.now() - timedelta(hours=1)
    Transcript.objects.filter(pk=transcript.pk).update(heartbeat_at=long_ago, **fields)


def test_an_analysis_whose_worker_died_stops_refreshing_and_offers_a_retry(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    _stale(transcript, attempts=1, lease_owner="dead-worker")
    http = logged_in(world.counselor)
    url = reverse("transcripts:detail", args=[transcript.pk])
    page = http.get(url).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert "The analysis stopped" in page and "Retry analysis" in page
    retry_url = reverse("transcripts:retry", args=[transcript.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert http.post(retry_url).url == url
    transcript.refresh_from_db()
    assert (transcript.status, transcript.attempts) == ("queued", 0)
    assert AuditEvent.objects.filter(
        action="transcript_retry", object_id=str(transcript.pk), outcome="ok"
    ).exists()
    run_worker()
    transcript.refresh_from_db()
    assert (transcript.status, transcript.attempts) == ("done", 1)


def test_retry_is_a_post_for_those_who_may_change_the_client(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    _stale(transcript, status="failed")
    retry_url = reverse("transcripts:retry", args=[transcript.pk])
    assert logged_in(world.counselor).get(retry_url).status_code == 405
    assert logged_in(world.south_counselor).post(retry_url).status_code == 404
    assert logged_in(world.admin).post(retry_url).status_code == 403  # admins only read
    page = logged_in(world.admin).get(reverse("transcripts:detail", args=[transcript.pk]))
    assert "Retry analysis" not in page.content.decode()
    assert AuditEvent.objects.filter(action="transcript_retry", outcome="denied").count() == 2
    assert Transcript.objects.get().status == "failed"
    csrf = logged_in(world.counselor, enforce_csrf_checks=True)
    assert csrf.post(retry_url).status_code == 403
    assert Transcript.objects.get().status == "failed"


def test_a_worker_requeues_a_stale_job_until_the_attempt_limit_then_fails_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    transcript = Transcript.objects.get()
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now() - timedelta(hours=1))
    _stale(transcript, attempts=1, lease_owner="dead-worker")
    assert recover_stale() == 1
    transcript.refresh_from_db()
    assert (transcript.status, transcript.lease_owner) == ("queued", "")
    # The dead worker's queue entry is closed; a fresh one waits.
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == ["FAILED", "READY"]
    _stale(transcript, attempts=3, lease_owner="dead-again")
    assert recover_stale() == 1
    transcript.refresh_from_db()
    assert transcript.status == "failed" and "stopped 3 times" in transcript.error
    page = logged_in(world.counselor).get(reverse("transcripts:detail", args=[transcript.pk]))
    assert 'http-equiv="refresh"' not in page.content.decode()
    assert "Retry analysis" in page.content.decode()


def test_a_live_lease_is_never_taken_over(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    owner = claim(Transcript.objects.get().pk)
    assert owner is not None and claim(Transcript.objects.get().pk) is None
    assert recover_stale() == 0
    assert Transcript.objects.get().lease_owner == owner


def test_a_queued_transcript_whose_queue_entry_was_lost_is_queued_again(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    DBTaskResult.objects.all().delete()
    transcript = Transcript.objects.get()
    assert recover_stale() == 0  # just queued: its entry may still be on the way
    _stale(transcript, status="queued")
    assert recover_stale() == 1
    run_worker()
    assert Transcript.objects.get().status == "done"


def test_a_long_report_pages_its_utterance_table(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    upload(world, "long.txt", django_capture_on_commit_callbacks, data=SPEAKERS * 230)
    run_worker()
    transcript = Transcript.objects.get()
    assert transcript.metrics["utterances"] == 460
    http = logged_in(world.counselor)
    url = reverse("transcripts:detail", args=[transcript.pk])
    first = http.get(url).content.decode()
    assert first.count('<tr class="role-') == 200 and "Utterances 1–200 of 460" in first
    assert 'href="?page=2" rel="next"' in first
    last = http.get(f"{url}?page=3").content.decode()
    assert last.count('<tr class="role-') == 60 and 'rel="prev"' in last


def _multipart(session: int, filename: str, body: bytes) -> tuple[bytes, str]:
    boundary = "alliance-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="session"\r\n\r\n{session}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/vtt\r\n\r\n"
    )
    data = head.encode() + body + f"\r\n--{boundary}--\r\n".encode()
    return data, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("name", ["a" * 1_000 + ".vtt", "会" * 400 + ".vtt"])
def test_a_very_long_file_name_gets_a_clear_error(
    world: World, name: str, django_capture_on_commit_callbacks: Any
) -> None:
    data, kind = _multipart(_session_pk(world), name, (FIXTURES / "zoom.vtt").read_bytes())
    response = logged_in(world.counselor).post(
        reverse("transcripts:upload"), data=data, content_type=kind
    )
    assert response.status_code == 400
    assert "name is too long to upload" in response.content.decode()
    assert not Transcript.objects.exists()


def test_a_long_file_name_is_shortened_and_keeps_its_extension(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    data, kind = _multipart(
        _session_pk(world), "s" * 250 + ".vtt", (FIXTURES / "zoom.vtt").read_bytes()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(world.counselor).post(
            reverse("transcripts:upload"), data=data, content_type=kind
        )
    assert response.status_code == 302
    name = str(Transcript.objects.get().filename)
    assert len(name) == 200 and name.endswith("….vtt")


def test_an_upload_that_reads_too_slowly_is_stopped_at_the_time_limit(
    world: World,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader runs in a child process that is killed at the limit; here the child is made
    slow by a ``sitecustomize`` on its PYTHONPATH, as a pathological file would make it."""
    (tmp_path / "sitecustomize.py").write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    settings.ALLIANCE_UPLOAD_PARSE_SECONDS = 1
    response = upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "took longer than the limit of 1 s" in response.content.decode()
    assert not Transcript.objects.exists()


def test_a_worker_whose_lease_was_taken_over_stops_analysing_and_writes_nothing(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.ALLIANCE_JOB_LEASE_SECONDS = 1  # heartbeats every 0.25 s
    # distinct utterances, so that the analysis takes seconds (repeated texts are encoded once)
    lines = b"".join(
        b"Dana: How was day %d?\nSam: Day %d was fine.\n" % (i, i) for i in range(1_500)
    )
    upload(world, "long.txt", django_capture_on_commit_callbacks, data=lines)
    pk = Transcript.objects.get().pk

    def take_over() -> None:  # as a second worker does once it presumes the first dead
        try:
            for _ in range(6_000):
                with contextlib.suppress(OperationalError):
                    rows = Transcript.objects.filter(pk=pk, status="running")
                    if rows.update(lease_owner="another-worker"):
                        return
                time.sleep(0.01)
        finally:
            connection.close()

    thief = threading.Thread(target=take_over)
    thief.start()
    run_worker()
    thief.join()
    transcript = Transcript.objects.get()
    assert (transcript.status, transcript.lease_owner) == ("running", "another-worker")
    assert str(transcript.report) == "" and transcript.metrics == {}
    assert DBTaskResult.objects.get().return_value == "taken over"


def test_the_counselor_named_on_upload_matches_regardless_of_case_and_spacing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """The upload form and ``alliance analyze --counselor`` follow one rule; the name is
    stored as the transcript spells it, and a name that matches none lists the speakers."""
    http = logged_in(world.counselor)

    def post(counselor: str) -> Any:
        body = (FIXTURES / "zoom.vtt").read_bytes()
        form = {"session": str(_session_pk(world)), "counselor": counselor}
        with django_capture_on_commit_callbacks(execute=False):
            return http.post(
                reverse("transcripts:upload"), {**form, "file": SimpleUploadedFile("z.vtt", body)}
            )

    assert post("  sam   LEE ").status_code == 302
    assert Transcript.objects.get().counselor_speaker == "Sam Lee"
    refused = post("Sam Le")
    assert refused.status_code == 400 and Transcript.objects.count() == 1
    assert "no speaker named &#x27;Sam Le&#x27;" in refused.content.decode()
    assert "its speakers: Dana Reyes, Sam Lee" in refused.content.decode()


def test_the_page_and_the_standalone_report_say_the_same_things(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """One source for code names, level marks and thresholds: the web page shows what
    ``alliance analyze --format html`` shows for the same session."""
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    run_worker()
    transcript = Transcript.objects.get()
    page = logged_in(world.counselor).get(reverse("transcripts:detail", args=[transcript.pk]))
    analysis = analyze_transcript(read_transcript(FIXTURES / "zoom.vtt"))
    standalone = report.to_html(analysis, full_page=False)
    for shown in (page.content.decode(), standalone):
        assert "therapist input" in shown and "therapistinput" not in shown
        assert "therapist_input<" not in shown
        for m in analysis.metrics:
            if m.fair is not None:
                assert f"fair {m.fair:g} / good {m.good:g}" in shown
    for m in metric_rows(json.loads(str(transcript.report))):
        assert f"{m.display} · {m.words}" in page.content.decode() or not m.words
        assert f"{m.display} {m.mark}" in standalone


def test_the_queue_entry_point_is_the_task_the_worker_looks_for() -> None:
    """Dead queue entries are found by this path; it must name the task that exists."""
    assert run_transcript_job.module_path == TASK_PATH


def test_a_stop_that_surfaces_as_another_error_hands_the_job_back(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """A stop signal landing inside native code can come out as another exception; the job is
    still being stopped, so it goes back to the queue instead of failing."""
    upload(world, "zoom.vtt", django_capture_on_commit_callbacks)
    pk = Transcript.objects.get().pk
    owner = claim(pk)
    assert owner is not None
    try:
        with pytest.raises(jobs.WorkerStopping), jobs.held(pk, owner):
            jobs._STOP.requested = True  # the signal arrives mid-analysis ...
            raise SystemError("error return without exception set")  # ... and surfaces so
    finally:
        jobs._STOP.requested = False
    with jobs.held(pk, owner), pytest.raises(ValueError):  # no stop asked: the error stays
        raise ValueError("a real error")

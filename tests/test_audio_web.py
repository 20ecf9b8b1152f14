"""Session recordings in the clinic app: upload, transcription by the real worker with the real
models, progress page, counselor confirmation, the audio deleted per policy, refusals, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmarks import transcribe_dialogues as td
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from alliance.web.audit.models import AuditEvent
from alliance.web.fields import fernet
from alliance.web.transcripts.models import Recording, Transcript
from alliance.web.transcripts.recordings import recordings_dir

from .web_fixtures import World, logged_in

pytest.importorskip("faster_whisper", reason="needs the audio extra: pip install '.[audio]'")
if not td.available():
    pytest.skip("needs text2wave (festival), sox and ffmpeg", allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def dialogue_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    audio, _ = td.dialogue(td.DIALOGUE[:6])  # 23 s: the web tests pay for two transcriptions
    return td.save(audio, tmp_path_factory.mktemp("rec") / "s.wav").read_bytes()


def _upload(world: World, data: bytes, capture: Any, name: str = "session.wav") -> Any:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    with capture(execute=True):
        return logged_in(world.counselor).post(
            reverse("transcripts:recording_upload"),
            {"session": str(session.pk), "recording": SimpleUploadedFile(name, data)},
        )


@pytest.fixture
def files() -> Any:
    """The audio files stored by this test (the web data dir outlives one test)."""
    before = set(recordings_dir().iterdir())
    return lambda: set(recordings_dir().iterdir()) - before


def run_worker() -> None:
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def _actions() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))


def test_recording_is_transcribed_analysed_and_deleted(
    world: World, dialogue_wav: bytes, files: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _upload(world, dialogue_wav, django_capture_on_commit_callbacks)
    recording = Recording.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "transcripts:recording", args=[recording.pk]
    )
    stored = (recordings_dir() / recording.audio_path).read_bytes()
    assert not stored.startswith(b"RIFF") and fernet().decrypt(stored) == dialogue_wav
    page = logged_in(world.counselor).get(response.url).content.decode()
    assert "Waiting for transcription" in page and "<progress" in page
    sessions = reverse("dashboard:sessions", args=[world.own.pk])
    listed = logged_in(world.counselor).get(sessions).content.decode()
    assert response.url in listed and "Upload recording" in listed

    run_worker()  # transcribes, stores the transcript, then analyses it
    recording.refresh_from_db()
    assert recording.status == "done", recording.error
    assert recording.audio_deleted_at is not None and not files()
    transcript = Transcript.objects.get()
    assert recording.transcript == transcript and transcript.status == "done"
    assert transcript.source_format == "vtt"
    roles = {u["speaker"]: u["role"] for u in json.loads(str(transcript.report))["utterances"]}
    assert set(roles) == {"Speaker 1", "Speaker 2"}

    page = logged_in(world.counselor).get(response.url).content.decode()
    assert "Which voice is the counselor?" in page and "The audio was deleted" in page
    other = next(name for name, role in roles.items() if role == "client")
    with django_capture_on_commit_callbacks(execute=True):
        logged_in(world.counselor).post(
            reverse("transcripts:recording_counselor", args=[recording.pk]), {"speaker": other}
        )
    run_worker()
    transcript.refresh_from_db()
    swapped = {u["speaker"]: u["role"] for u in json.loads(str(transcript.report))["utterances"]}
    assert swapped[other] == "counselor" and transcript.counselor_speaker == other
    assert Recording.objects.get().counselor_confirmed
    actions = _actions()
    for expected in (
        ("recording_upload", "ok"),
        ("recording_transcribed", "ok"),
        ("recording_audio_delete", "policy"),
        ("recording_view", "ok"),
        ("recording_counselor", "ok"),
    ):
        assert expected in actions


def test_audio_is_kept_encrypted_when_the_clinic_says_so(
    world: World, dialogue_wav: bytes, django_capture_on_commit_callbacks: Any
) -> None:
    world.clinic.delete_recordings = False
    world.clinic.save()
    _upload(world, dialogue_wav, django_capture_on_commit_callbacks)
    run_worker()
    recording = Recording.objects.get()
    assert recording.status == "done" and recording.audio_deleted_at is None
    assert (recordings_dir() / recording.audio_path).exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.wav", b"", "the file is empty"),
        ("notes.mp3", b"WEBVTT\n\nnot audio at all\n" * 10, "this is not a recording"),
        ("long.wav", b"RIFF" + bytes(2_000_000), "over this clinic&#x27;s limit of 1 MB"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    world: World,
    name: str,
    data: bytes,
    message: str,
    files: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    world.clinic.recording_max_mb = 1
    world.clinic.save()
    response = _upload(world, data, django_capture_on_commit_callbacks, name)
    assert response.status_code == 400
    assert (
        message in response.content.decode() and "Nothing was stored" in response.content.decode()
    )
    assert not Recording.objects.exists() and not files()
    assert ("recording_upload", "rejected") in _actions()


def test_silence_fails_with_a_clear_message_and_the_audio_is_deleted(
    world: World, tmp_path: Path, files: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = td.save(np.zeros(5 * td.RATE, np.float32), tmp_path / "quiet.wav").read_bytes()
    _upload(world, quiet, django_capture_on_commit_callbacks)
    run_worker()
    recording = Recording.objects.get()
    assert recording.status == "failed" and recording.error == "no speech found in the recording"
    assert recording.audio_deleted_at is not None and not files()
    assert not Transcript.objects.exists()
    page = logged_in(world.counselor).get(reverse("transcripts:recording", args=[recording.pk]))
    assert "no speech found in the recording" in page.content.decode()


def test_another_clinic_cannot_see_a_recording(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = b"RIFF" + bytes(100)
    _upload(world, quiet, django_capture_on_commit_callbacks)
    recording = Recording.objects.get()
    page = logged_in(world.foreign_counselor).get(
        reverse("transcripts:recording", args=[recording.pk])
    )
    assert page.status_code == 404


def test_a_recording_left_by_a_dead_worker_is_requeued_then_failed(
    world: World, files: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from alliance.web.transcripts.tasks import recover_stale

    _upload(world, b"RIFF" + bytes(100), django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(hours=1)
    Recording.objects.update(status="running", heartbeat_at=long_ago, attempts=1)
    recover_stale()  # what every worker runs as it starts and then every half lease
    recording = Recording.objects.get()
    assert recording.status == "queued" and recording.heartbeat_at > long_ago
    Recording.objects.update(status="running", heartbeat_at=long_ago, attempts=3)
    recover_stale()
    recording = Recording.objects.get()
    assert recording.status == "failed" and "stopped repeatedly" in recording.error
    assert recording.audio_deleted_at is not None and not files()

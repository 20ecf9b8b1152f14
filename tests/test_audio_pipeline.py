"""Recordings to transcripts with the real models, on two-voice dialogues made here.

The dialogues come from Debian's festival voices (benchmarks/transcribe_dialogues.py): the
counselor's lines in one voice, the client's in another, so who said which word is known.
The models load once for the module; every clip is under a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from benchmarks import transcribe_dialogues as td

pytest.importorskip("faster_whisper", reason="needs the audio extra: pip install '.[audio]'")
if not td.available():
    pytest.skip("needs text2wave (festival), sox and ffmpeg", allow_module_level=True)

from alliance.core.audio import AudioError
from alliance.core.audio.decode import decode, is_recording
from alliance.core.audio.metrics import cpwer, normalise, wer
from alliance.core.audio.models import WHISPER_SHA256, verify, whisper_dir
from alliance.core.audio.pipeline import (
    Transcriber,
    Word,
    chunks,
    cues,
    speaker_names,
    to_vtt,
)
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.readers import read_transcript

SAME_VOICE = {"counselor": td.VOICES["counselor"], "client": td.VOICES["counselor"]}


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def transcriber(model_cache: Path) -> Transcriber:
    return Transcriber(threads=2, model_cache=model_cache)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[td.Turn]]:
    audio, turns = td.dialogue(td.DIALOGUE)
    return td.save(audio, tmp_path_factory.mktemp("clip") / "session.wav"), turns


@pytest.fixture(scope="module")
def clip_words(transcriber: Transcriber, clip: tuple[Path, list[td.Turn]]) -> list[Word]:
    return transcriber.words(clip[0])


def _hyp(words: list[Word]) -> list[tuple[int, str]]:
    return [(w.speaker, t) for w in words for t in normalise(w.text)]


def test_words_recognised_and_two_speakers_found(
    clip_words: list[Word], clip: tuple[Path, list[td.Turn]]
) -> None:
    words, turns = clip_words, clip[1]
    ref = td.script_words(turns)
    assert wer([w for _, w in ref], [w for _, w in _hyp(words)]) < 0.1
    assert {w.speaker for w in words} == {0, 1}
    assert cpwer(ref, _hyp(words)) < 0.1


def test_counselor_turns_go_to_the_counselor_voice(
    clip_words: list[Word], clip: tuple[Path, list[td.Turn]]
) -> None:
    words, turns = clip_words, clip[1]
    counselor_voice = words[0].speaker  # the counselor speaks first in the script
    for turn in turns:
        said = [w for w in words if turn.start <= (w.start + w.end) / 2 <= turn.end]
        assert said, turn.text
        right = sum((w.speaker == counselor_voice) == (turn.role == "counselor") for w in said)
        assert right / len(said) >= 0.9, (turn.role, turn.text)


def test_vtt_is_read_and_coded_like_a_zoom_file(clip_words: list[Word], tmp_path: Path) -> None:
    words = clip_words
    vtt = tmp_path / "session.vtt"
    vtt.write_text(to_vtt(cues(words, speaker_names("Dana,Client", 2))), encoding="utf-8")
    transcript = read_transcript(vtt)
    assert transcript.source_format == "vtt"
    assert transcript.speakers == ["Dana", "Client"]
    assert len(transcript.utterances) == len(td.DIALOGUE)
    analysis = analyze_transcript(transcript, counselor="Dana")
    roles = {u.speaker: u.role for u in analysis.transcript.utterances}
    assert roles == {"Dana": "counselor", "Client": "client"}


def test_labels_agree_across_chunks(transcriber: Transcriber, tmp_path: Path) -> None:
    audio, turns = td.dialogue(td.DIALOGUE + td.MORE)
    path = td.save(td.add_noise(audio, snr_db=20), tmp_path / "noisy.ogg")
    words = transcriber.words(path, chunk_seconds=15)
    assert cpwer(td.script_words(turns), _hyp(words)) < 0.15


def test_compressed_formats_decode_to_the_same_length(
    clip: tuple[Path, list[td.Turn]], tmp_path: Path
) -> None:
    samples = td.read_wav(clip[0])
    for suffix in (".mp3", ".m4a", ".ogg", ".webm"):
        path = td.save(samples, tmp_path / f"session{suffix}")
        assert is_recording(path.rename(tmp_path / f"no-suffix-{suffix[1:]}"))
        decoded = decode(tmp_path / f"no-suffix-{suffix[1:]}")
        assert abs(len(decoded) - len(samples)) < 0.1 * td.RATE, suffix


def test_not_audio_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("WEBVTT\n\nthis is text, not a recording\n" * 20)
    with pytest.raises(AudioError, match="not a recording"):
        decode(fake)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.m4a"
    empty.touch()
    with pytest.raises(AudioError, match="empty"):
        decode(empty)


def test_silence_is_refused(transcriber: Transcriber, tmp_path: Path) -> None:
    quiet = td.save(np.zeros(10 * td.RATE, np.float32), tmp_path / "quiet.wav")
    with pytest.raises(AudioError, match="no speech"):
        transcriber.words(quiet)


def test_one_voice_is_refused(transcriber: Transcriber, tmp_path: Path) -> None:
    audio, _ = td.dialogue(td.DIALOGUE, voices=SAME_VOICE)
    path = td.save(audio, tmp_path / "monologue.wav")
    with pytest.raises(AudioError, match="only one distinct voice"):
        transcriber.words(path)
    words = transcriber.words(path, speakers=1)
    assert {w.speaker for w in words} == {0}


def test_three_hour_file_is_refused_before_decoding(tmp_path: Path) -> None:
    """A 3-hour WAV (sparse on disk) is refused from its header, in well under a second."""
    path = tmp_path / "three-hours.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.setnframes(3 * 3600 * 8000)
        f.writeframes(b"")
    with path.open("r+b") as f:
        f.truncate(44 + 3 * 3600 * 8000 * 2)
    with pytest.raises(AudioError, match="longer than the limit of 120 minutes"):
        decode(path)


def test_length_limit_holds_without_a_duration_header(
    clip: tuple[Path, list[td.Turn]], tmp_path: Path
) -> None:
    webm = td.save(td.read_wav(clip[0]), tmp_path / "x.webm")
    with pytest.raises(AudioError, match="longer than the limit"):
        decode(webm, max_seconds=10)


def test_tampered_weights_are_refused(model_cache: Path, tmp_path: Path) -> None:
    whisper_dir(model_cache)  # the verified copy the transcriber uses
    bad = tmp_path / "whisper-base-ct2"
    bad.mkdir()
    (bad / "model.bin").write_bytes(b"not the model")
    with pytest.raises(AudioError, match="checksum"):
        whisper_dir(tmp_path)
    with pytest.raises(AudioError, match="checksum"):
        verify(bad / "model.bin", WHISPER_SHA256)


def test_long_regions_are_cut_into_chunks() -> None:
    rate = td.RATE
    groups = chunks([(0, 10 * rate), (12 * rate, 700 * rate)], seconds=240)
    assert all(g[-1][1] - g[0][0] <= 240 * rate for g in groups)
    assert sum(e - s for g in groups for s, e in g) == 698 * rate


def test_speaker_names() -> None:
    assert speaker_names(None, 2) == ["Speaker 1", "Speaker 2"]
    assert speaker_names(" Dana , Client", 2) == ["Dana", "Client"]
    for bad in ("Dana", "Dana,Dana", "Dana,", "Dr: X,Client"):
        with pytest.raises(AudioError):
            speaker_names(bad, 2)


def _cli(
    args: list[str], env: dict[str, str], offline: bool = False
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from alliance.cli import main; main()", *args]
    if offline and shutil.which("unshare") and os.geteuid() == 0:
        cmd = ["unshare", "-n", *cmd]  # no network at all: a download attempt would fail
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def cli_env(model_cache: Path, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env |= {
        "ALLIANCE_DATA_DIR": str(model_cache.parent),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "no-hub-cache"),
        "ALLIANCE_THREADS": "2",
    }
    return env


def test_cli_transcribes_offline_and_analyze_reads_the_vtt(
    clip: tuple[Path, list[td.Turn]], cli_env: dict[str, str], tmp_path: Path
) -> None:
    vtt = tmp_path / "session.vtt"
    done = _cli(
        ["transcribe", str(clip[0]), "--names", "Dana,Client", "-o", str(vtt)],
        cli_env,
        offline=True,
    )
    assert done.returncode == 0, done.stderr
    assert vtt.read_text().startswith("WEBVTT\n\n1\n")
    assert not (tmp_path / "no-hub-cache").exists()
    coded = _cli(["analyze", str(vtt), "--format", "json", "--counselor", "Dana"], cli_env)
    assert coded.returncode == 0, coded.stderr
    assert '"speaker": "Dana"' in coded.stdout


def test_cli_refuses_bad_input_and_writes_nothing(cli_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    out = tmp_path / "out.vtt"
    done = _cli(["transcribe", str(empty), "-o", str(out)], cli_env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "error: empty.wav: the file is empty (0 bytes)"
    assert not out.exists()


def test_cli_analyze_takes_a_recording(
    clip: tuple[Path, list[td.Turn]], cli_env: dict[str, str]
) -> None:
    done = _cli(["analyze", str(clip[0]), "--format", "json"], cli_env, offline=True)
    assert done.returncode == 0, done.stderr
    assert '"speaker": "Speaker 1"' in done.stdout and '"speaker": "Speaker 2"' in done.stdout
    assert '"role": "counselor"' in done.stdout

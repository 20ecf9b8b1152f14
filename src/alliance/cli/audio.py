"""CLI: ``alliance transcribe`` (recording -> WebVTT) and the hook that lets ``analyze`` read
recordings.

Thin wrapper over ``alliance.core.audio``; needs the ``audio`` extra. Bad input gives one line
on stderr and exit 2.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli._common import clean_errors, fail

PROGRESS_STEPS = 1000

if TYPE_CHECKING:
    from alliance.core.transcripts.model import Transcript


def recording_to_vtt(
    recording: Path,
    speakers: int = 2,
    names: str | None = None,
    language: str | None = "en",
    threads: int | None = None,
) -> str:
    """Transcribe with a progress bar on stderr; raises the core's errors."""
    from alliance.core.audio.decode import is_recording
    from alliance.core.audio.pipeline import Transcriber, cues, speaker_names, to_vtt

    labels = speaker_names(names, speakers)
    if not recording.is_file() or not is_recording(recording):
        fail(f"{recording}: not a recording (wav, mp3, m4a, webm, ogg, flac)")
    try:
        transcriber = Transcriber(threads=threads)
    except ImportError:
        fail("the audio models are not installed: pip install 'alliance[audio]'")
    with typer.progressbar(
        length=PROGRESS_STEPS, label=f"transcribing {recording.name}", file=sys.stderr
    ) as bar:
        shown = [0]

        def update(done: float, total: float) -> None:
            step = int(PROGRESS_STEPS * done / max(total, 1e-9)) - shown[0]
            if step > 0:
                bar.update(step)
                shown[0] += step

        words = transcriber.words(recording, speakers, language, progress=update)
    return to_vtt(cues(words, labels))


def transcribe(
    recording: Annotated[Path, typer.Argument(help="Recording: wav, mp3, m4a, webm, ogg, flac.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the WebVTT here (default: stdout).")
    ] = None,
    speakers: Annotated[int, typer.Option("--speakers", min=1, max=8, help="How many voices.")] = 2,
    names: Annotated[
        str | None,
        typer.Option("--names", help='Speaker names in order of first speech, e.g. "Dana,Client".'),
    ] = None,
    language: Annotated[
        str, typer.Option("--language", help="Spoken language code, or 'auto' to detect it.")
    ] = "en",
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, max=256, help="CPU threads (default: all).")
    ] = None,
) -> None:
    """Transcribe a recording on this machine (nothing is uploaded) into WebVTT with speakers."""
    with clean_errors():
        vtt = recording_to_vtt(
            recording, speakers, names, None if language == "auto" else language, threads
        )
    if output is None:
        sys.stdout.write(vtt)
    else:
        output.write_text(vtt, encoding="utf-8")


def read_any(path: Path, input_format: str | None) -> list[Transcript]:
    """What ``alliance analyze`` reads: a transcript file, or a recording transcribed first."""
    from alliance.core.audio.decode import is_recording
    from alliance.core.transcripts.readers import read_transcripts

    if input_format is not None or not path.is_file() or not is_recording(path):
        return read_transcripts(path, input_format)
    vtt = recording_to_vtt(path)
    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / f"{path.stem}.vtt"
        written.write_text(vtt, encoding="utf-8")
        return read_transcripts(written, "vtt")


def register(app: typer.Typer) -> None:
    """Add ``transcribe`` to the ``alliance`` app."""
    app.command("transcribe")(transcribe)

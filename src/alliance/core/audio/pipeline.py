"""Recording -> speaker-labelled words -> WebVTT cues, in chunks with steady memory.

Why: recognising a whole 50-minute file at once took 3.1 GB; cutting it at pauses into chunks
of at most ``CHUNK_SECONDS`` keeps the recogniser's working set to one chunk while speaker
windows (a few kilobytes a second) accumulate for one clustering over the whole recording.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from alliance.core.audio import AudioError
from alliance.core.audio.decode import MAX_SECONDS, SAMPLE_RATE, decode
from alliance.core.audio.features import gain_for_power
from alliance.core.audio.speakers import SpeakerEncoder, Windows, cluster, label_at
from alliance.core.transcripts.encoder import threads_from_environment

#: Longest stretch the recogniser sees at once; cut only in pauses between speech regions.
CHUNK_SECONDS = 240.0
#: Pauses of this long separate speech regions (shorter turn gaps stay inside one region).
REGION_SILENCE_MS = 300
Progress = Callable[[float, float], None]


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    speaker: int = 0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str
    text: str


class Transcriber:
    """The loaded models; build once and transcribe many recordings (tests, the web worker)."""

    def __init__(self, threads: int | None = None, model_cache: Path | None = None) -> None:
        from faster_whisper import WhisperModel

        from alliance.core.audio.models import whisper_dir

        self.threads = threads or threads_from_environment() or (os.cpu_count() or 1)
        self.whisper = WhisperModel(
            str(whisper_dir(model_cache)),
            device="cpu",
            compute_type="int8",
            cpu_threads=self.threads,
            local_files_only=True,
        )
        self.encoder = SpeakerEncoder(self.threads)

    def words(
        self,
        path: Path | BinaryIO,
        speakers: int = 2,
        language: str | None = "en",
        max_seconds: float = MAX_SECONDS,
        progress: Progress | None = None,
        chunk_seconds: float = CHUNK_SECONDS,
    ) -> list[Word]:
        """Every recognised word with its speaker index (0 = first to speak)."""
        if not 1 <= speakers <= 8:
            raise AudioError("speakers must be from 1 to 8")
        audio = decode(path, max_seconds)
        name = path.name if isinstance(path, Path) else "recording"
        regions = speech_regions(audio)
        if not regions:
            raise AudioError(f"{name}: no speech found in the recording")
        power = sum(float(np.dot(audio[s:e], audio[s:e])) for s, e in regions)
        gain = gain_for_power(power / sum(e - s for s, e in regions))
        windows, words, groups = Windows(), [], chunks(regions, chunk_seconds)
        total = len(audio) / SAMPLE_RATE
        for chunk, (start, end) in zip(groups, bounds(groups, len(audio)), strict=True):
            words += self._recognise(audio[start:end], start / SAMPLE_RATE, language)
            for s, e in chunk:
                self.encoder.add_region(audio[s:e] * gain, s / SAMPLE_RATE, windows)
            if progress:
                progress(end / SAMPLE_RATE, total)
        del audio
        if not words:
            raise AudioError(f"{name}: no words recognised in the recording")
        return _attribute(words, windows, speakers)

    def _recognise(self, audio: np.ndarray, offset: float, language: str | None) -> list[Word]:
        segments, _ = self.whisper.transcribe(
            audio,
            language=language,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
        )
        return [
            Word(offset + w.start, offset + w.end, w.word.strip())
            for seg in segments
            for w in seg.words or []
            if w.word.strip()
        ]


def speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) samples of speech, from faster-whisper's bundled Silero VAD."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=REGION_SILENCE_MS, speech_pad_ms=100)
    return [(int(r["start"]), int(r["end"])) for r in get_speech_timestamps(audio, options)]


def chunks(
    regions: list[tuple[int, int]], seconds: float = CHUNK_SECONDS
) -> list[list[tuple[int, int]]]:
    """Consecutive regions grouped so that each group spans at most ``seconds``.

    A region longer than that on its own (a long monologue without pauses) is cut into pieces."""
    limit = int(seconds * SAMPLE_RATE)
    pieces = [(p, min(e, p + limit)) for s, e in regions for p in range(s, e, limit)]
    groups: list[list[tuple[int, int]]] = []
    for piece in pieces:
        if groups and piece[1] - groups[-1][0][0] <= limit:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return groups


def bounds(groups: list[list[tuple[int, int]]], length: int) -> list[tuple[int, int]]:
    """Each chunk's audio span: cut halfway through the pause between chunks, so a word the
    VAD clipped at a region's edge still reaches the recogniser whole."""
    cuts = [0] + [(a[-1][1] + b[0][0]) // 2 for a, b in itertools.pairwise(groups)] + [length]
    return list(itertools.pairwise(cuts))


def _attribute(words: list[Word], windows: Windows, speakers: int) -> list[Word]:
    vectors = windows.array()
    labels = cluster(vectors, speakers)
    centres = np.asarray(windows.centres)
    found = label_at([(w.start + w.end) / 2 for w in words], centres, labels)
    order = list(dict.fromkeys(found))  # speaker 1 is whoever speaks first
    rank = {label: order.index(label) for label in order}
    return [Word(w.start, w.end, w.text, rank[k]) for w, k in zip(words, found, strict=True)]


def speaker_names(names: str | None, speakers: int) -> list[str]:
    """``"Dana,Client"`` -> ["Dana", "Client"]; default ``Speaker 1``, ``Speaker 2``..."""
    if not names:
        return [f"Speaker {i}" for i in range(1, speakers + 1)]
    found = [n.strip() for n in names.split(",")]
    if len(found) != speakers or not all(found) or len(set(found)) != len(found):
        raise AudioError(f"--names needs {speakers} different names separated by commas")
    if any(":" in n or len(n) > 40 for n in found):
        raise AudioError("a speaker name may not contain ':' or run past 40 characters")
    return found


def cues(words: list[Word], names: list[str], max_gap: float = 1.5) -> list[Cue]:
    """Consecutive words of one speaker become one cue; a long pause or 40 words start another."""
    out: list[Cue] = []
    run: list[Word] = []
    for w in words:
        if run and (
            w.speaker != run[-1].speaker or w.start - run[-1].end > max_gap or len(run) >= 40
        ):
            out.append(_cue(run, names))
            run = []
        run.append(w)
    if run:
        out.append(_cue(run, names))
    return out


def _cue(run: list[Word], names: list[str]) -> Cue:
    return Cue(run[0].start, run[-1].end, names[run[0].speaker], " ".join(w.text for w in run))


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(found: list[Cue]) -> str:
    """WebVTT with numbered cues and ``Name: text`` payloads, as Zoom writes them."""
    blocks = ["WEBVTT"]
    for i, c in enumerate(found, 1):
        blocks.append(f"{i}\n{_stamp(c.start)} --> {_stamp(c.end)}\n{c.speaker}: {c.text}")
    return "\n\n".join(blocks) + "\n"


def describe(words: list[Word]) -> dict[str, Any]:
    """Counts for a progress line or a log (no words: never log what was said)."""
    return {"words": len(words), "speakers": len({w.speaker for w in words})}

"""Synthetic two-voice counseling dialogues for the audio tests and benchmarks.

Why: tests must run the real models on recordings they make themselves, with a known script
(who said which words when). Two of Debian's festival voices (``cmu_us_slt_arctic_hts``, a
female HTS voice, and ``kal_diphone``, a male diphone voice) read the counselor's and the
client's lines; the turns are joined with short pauses at 16 kHz, optional noise is added at
a given signal-to-noise ratio, and ffmpeg encodes other formats. Needs ``text2wave``
(festival, festvox-kallpc16k, festvox-us-slt-hts), ``sox`` and ``ffmpeg``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
VOICES = {"counselor": "cmu_us_slt_arctic_hts", "client": "kal_diphone"}
CACHE = Path(tempfile.gettempdir()) / "alliance-tts-cache"
TOOLS = ("text2wave", "sox", "ffmpeg")

DIALOGUE = [
    ("counselor", "Welcome back. How have things been since we last met?"),
    ("client", "Honestly it has been a hard week. I barely slept and work was stressful."),
    ("counselor", "It sounds like the stress has been keeping you awake at night."),
    ("client", "Yes. I keep thinking about the argument with my sister."),
    ("counselor", "What would you like to be different with your sister?"),
    ("client", "I want us to talk without shouting. I miss how close we used to be."),
    ("counselor", "You really value that closeness, and you are ready to work on it."),
    ("client", "I am. I just do not know where to start."),
]
MORE = [
    ("counselor", "Tell me about a time when the two of you did talk calmly."),
    ("client", "Last summer we went walking by the river and talked for hours."),
    ("counselor", "So you already know what a good conversation with her feels like."),
    ("client", "I guess I do. Maybe I could ask her to walk again."),
    ("counselor", "That is a clear first step. How confident do you feel about asking?"),
    ("client", "Maybe six out of ten. I am afraid she will say no."),
]


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    start: float
    end: float


def available() -> bool:
    return all(shutil.which(t) for t in TOOLS)


def _say(voice: str, text: str) -> np.ndarray:
    """One line read by one voice, 16 kHz mono float32 (cached across runs).

    ``voice:cents`` shifts the voice's pitch (``kal_diphone:-300``), a harder, similar voice."""
    voice, _, cents = voice.partition(":")
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{voice}|{cents}|{text}".encode()).hexdigest()[:20]
    out = CACHE / f"{key}.wav"
    if not out.exists():
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            subprocess.run(
                ["text2wave", "-eval", f"(voice_{voice})", "-o", str(raw)],
                input=text.encode(),
                check=True,
                capture_output=True,
            )
            part = Path(tmp) / "part.wav"
            shift = ["pitch", cents] if cents else []
            subprocess.run(
                ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(part), *shift],
                check=True,
                capture_output=True,
            )
            part.replace(out)
    return read_wav(out)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as f:
        data = f.readframes(f.getnframes())
    return np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def dialogue(
    lines: list[tuple[str, str]],
    gap: float = 0.6,
    voices: dict[str, str] | None = None,
    lead: float = 0.5,
) -> tuple[np.ndarray, list[Turn]]:
    """The lines read in turn, with ``gap`` seconds between turns, and the script with times."""
    voices = voices or VOICES
    pieces, turns, t = [np.zeros(int(lead * RATE), np.float32)], [], lead
    for role, text in lines:
        said = _say(voices[role], text)
        turns.append(Turn(role, text, t, t + len(said) / RATE))
        pieces += [said, np.zeros(int(gap * RATE), np.float32)]
        t += len(said) / RATE + gap
    return np.concatenate(pieces), turns


def add_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """White noise at ``snr_db`` below the speech's power."""
    speech = samples[np.abs(samples) > 1e-4]
    power = float(np.mean(speech**2)) if len(speech) else 1e-4
    noise = np.random.default_rng(seed).normal(
        0, np.sqrt(power / 10 ** (snr_db / 10)), len(samples)
    )
    return (samples + noise).astype(np.float32)


def save(samples: np.ndarray, path: Path) -> Path:
    """Write WAV, or encode to the format of ``path``'s suffix (mp3, m4a, ogg, webm) with ffmpeg."""
    if path.suffix == ".wav":
        write_wav(path, samples)
        return path
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        write_wav(wav, samples)
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(path)], check=True
        )
    return path


def script_words(turns: list[Turn]) -> list[tuple[str, str]]:
    """(role, word) for every word of the script, normalised as WER compares them."""
    from alliance.core.audio.metrics import normalise

    return [(t.role, w) for t in turns for w in normalise(t.text)]

"""Decode any common recording (wav, mp3, m4a, webm, ogg) to 16 kHz mono with PyAV.

Why: PyAV bundles FFmpeg's decoders in its wheel, so no system FFmpeg is needed at run time.
Decoding stops as soon as the recording passes the length limit, so a 3-hour upload costs
the time to notice, not the time to decode it; browser WebM files often carry no duration,
so the limit is checked on decoded samples, not only on the container's claim.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from alliance.core.audio import AudioError

SAMPLE_RATE = 16_000
#: Longest recording accepted: two hours covers a double (family or couple) session; longer
#: files are refused before they cost minutes of CPU.
MAX_SECONDS = 2 * 60 * 60
#: Shortest speech worth transcribing: under two seconds there is no dialogue to code.
MIN_SECONDS = 2.0


#: File endings taken as recordings; anything else is sniffed by its first bytes.
RECORDING_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".mp4", ".aac", ".webm", ".ogg", ".oga", ".opus", ".flac", ".mka"}
)
#: Leading bytes of the containers above (WAV, MP3 with and without ID3, Ogg, Matroska/WebM,
#: FLAC); MP4/M4A carry ``ftyp`` at offset 4.
_MAGIC = (
    b"RIFF",
    b"ID3",
    b"\xff\xfb",
    b"\xff\xf3",
    b"\xff\xf2",
    b"OggS",
    b"\x1aE\xdf\xa3",
    b"fLaC",
)


def is_recording(path: Path) -> bool:
    """Whether ``path`` looks like audio (by its ending, else by its first bytes)."""
    if path.suffix.lower() in RECORDING_SUFFIXES:
        return True
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return is_recording_bytes(head)


def is_recording_bytes(head: bytes) -> bool:
    """Whether the first 12 bytes of a file are those of an audio container."""
    return head.startswith(_MAGIC) or head[4:8] == b"ftyp"


def decode(source: Path | BinaryIO, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """The recording (a path, or bytes in memory: the web worker never writes decrypted audio
    to disk) as float32 samples in [-1, 1] at 16 kHz mono; bad input is an AudioError."""
    import av

    path = source if isinstance(source, Path) else Path("recording")
    if isinstance(source, Path):
        _check_file(source)
    limit = int(max_seconds * SAMPLE_RATE)
    buffer = io.BytesIO()
    try:
        opened = str(source) if isinstance(source, Path) else source
        with av.open(opened, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name}: not a recording (no audio stream)")
            _check_claimed_length(container, max_seconds, path)
            for array in _resampled(container):
                buffer.write(array.tobytes())
                if buffer.tell() // 2 > limit:
                    raise _too_long(path, max_seconds)
    except av.FFmpegError as exc:
        raise AudioError(f"{path.name}: not a recording alliance can decode ({exc})") from None
    samples = np.frombuffer(buffer.getbuffer(), dtype=np.int16).astype(np.float32) / 32768.0
    if len(samples) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(f"{path.name}: under {MIN_SECONDS:g} seconds of audio")
    return samples


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror}") from None
    if size == 0:
        raise AudioError(f"{path.name}: the file is empty (0 bytes)")


def _check_claimed_length(container: Any, max_seconds: float, path: Path) -> None:
    if container.duration is not None and container.duration / 1_000_000 > max_seconds + 1:
        raise _too_long(path, max_seconds)


def _too_long(path: Path, max_seconds: float) -> AudioError:
    return AudioError(
        f"{path.name}: longer than the limit of {max_seconds / 60:g} minutes; split the recording"
    )


def _resampled(container: Any) -> Iterator[np.ndarray]:
    import av

    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frames = container.decode(audio=0)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except av.InvalidDataError:
            continue  # one damaged packet: skip it, as players do
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1)

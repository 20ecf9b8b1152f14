"""Recordings to transcripts on the clinic's own CPU: decoding, speech recognition, speakers.

Why: many sessions have only a recording, and the commercial tools send it to a cloud. Here the
audio is decoded with PyAV, speech found with Silero VAD and recognised with Whisper (via
faster-whisper, int8), and speakers separated with a converted Resemblyzer encoder (ONNX) and
spectral clustering, all from weights installed with the ``audio`` extra; nothing is fetched
and nothing leaves the machine. The result is WebVTT with ``Name:`` prefixes, which
``alliance.core.transcripts`` reads like a Zoom file.
"""

from __future__ import annotations

from alliance.core.errors import AllianceError


class AudioError(AllianceError):
    """A recording cannot be transcribed (not audio, silent, one voice, too long...)."""

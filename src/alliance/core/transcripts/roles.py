"""Speaker roles: who is the counselor and who the client.

Why: the codes differ by role. Roles come from the input when it gives them (AnnoMI
``interlocutor``, JSON ``role``, speakers named Counselor/Therapist/Client), from
``--counselor NAME`` when the user says so, and are otherwise inferred: the counselor is the
speaker whose turns most look like a counselor's (questions, second-person address, little
first-person talk). Accuracy measured on AnnoMI
with labels hidden is in docs/transcripts.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alliance.core.transcripts.model import (
    CLIENT,
    COUNSELOR,
    ROLE_WORDS,
    Transcript,
    TranscriptError,
)

_WORD = re.compile(r"[a-z']+")
_SECOND = {"you", "your", "you're", "yours", "yourself", "you've", "you'd", "you'll"}
#: Speakers listed in the error for a name that matches none.
MAX_NAMED = 10
_FIRST = {"i", "i'm", "my", "me", "i've", "i'd", "i'll", "myself", "mine"}


def counselor_score(texts: list[str]) -> float:
    """Higher when the turns ask questions and address 'you' rather than talk about 'I'."""
    words = [w for t in texts for w in _WORD.findall(t.lower())]
    if not words:
        return 0.0
    questions = sum("?" in t for t in texts) / max(len(texts), 1)
    second = sum(w in _SECOND for w in words) / len(words)
    first = sum(w in _FIRST for w in words) / len(words)
    return questions + 4.0 * (second - first)


def assign_roles(transcript: Transcript, counselor: str | None = None) -> Transcript:
    """Fill ``role`` for every utterance (in place) and return the transcript."""
    utts = transcript.utterances
    if counselor is not None:
        chosen = match_speaker(transcript.speakers, counselor)
    elif transcript.roles_given and all(u.role for u in utts):
        return transcript
    elif all(s.lower() in ROLE_WORDS for s in transcript.speakers) and any(
        ROLE_WORDS[s.lower()] == COUNSELOR for s in transcript.speakers
    ):
        for u in utts:
            u.role = ROLE_WORDS[u.speaker.lower()]
        return transcript
    else:
        chosen = infer_counselor(transcript)
    for u in utts:
        u.role = COUNSELOR if u.speaker == chosen else CLIENT
    return transcript


def match_speaker(speakers: Sequence[str], name: str) -> str:
    """The speaker a user means by ``name`` (``--counselor``, the upload form), as the
    transcript spells it: case and runs of spaces do not matter. One-line error if none."""
    for speaker in speakers:
        if _name_key(speaker) == _name_key(name):
            return speaker
    known = ", ".join(speakers[:MAX_NAMED]) + (", …" if len(speakers) > MAX_NAMED else "")
    shown = " ".join(name.split())
    raise TranscriptError(f"no speaker named {shown!r} in this transcript; its speakers: {known}")


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def infer_counselor(transcript: Transcript) -> str:
    """The speaker with the highest counselor score among those with at least 2 turns."""
    by_speaker: dict[str, list[str]] = {}
    for u in transcript.utterances:
        by_speaker.setdefault(u.speaker, []).append(u.text)
    candidates = {s: t for s, t in by_speaker.items() if len(t) >= 2} or by_speaker
    return max(candidates, key=lambda s: counselor_score(candidates[s]))

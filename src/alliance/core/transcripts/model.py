"""Transcript data model shared by readers, role inference, coding and reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from alliance.core.errors import AllianceError

COUNSELOR = "counselor"
CLIENT = "client"
#: Speaker names or role fields that state a role outright.
ROLE_WORDS = {
    "therapist": COUNSELOR,
    "counselor": COUNSELOR,
    "counsellor": COUNSELOR,
    "clinician": COUNSELOR,
    "client": CLIENT,
    "patient": CLIENT,
}


class TranscriptError(AllianceError):
    """A transcript could not be read or analysed; the message is one line for the user."""


@dataclass
class Utterance:
    """One speaker turn (consecutive cues of one speaker are merged)."""

    utterance_id: str
    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    role: str | None = None


@dataclass
class Transcript:
    """Ordered utterances of one session, with what the reader had to warn about."""

    transcript_id: str
    utterances: list[Utterance]
    source_format: str = ""
    warnings: list[str] = field(default_factory=list)
    roles_given: bool = False

    @property
    def speakers(self) -> list[str]:
        """Speakers in order of first appearance."""
        return list(dict.fromkeys(u.speaker for u in self.utterances))

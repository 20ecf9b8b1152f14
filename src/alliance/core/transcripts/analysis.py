"""``analyze_transcript``: roles, codes, metrics and MI quality for one session.

Why: one entry point that the CLI and the web app's background job both call; the result is
plain data (``to_dict``) that any report renders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alliance.core.transcripts import coding, packs
from alliance.core.transcripts.encoder import DIALOGUE_TOKENS, Encoder, get_encoder
from alliance.core.transcripts.metrics import Metric, session_metrics
from alliance.core.transcripts.model import CLIENT, COUNSELOR, Transcript, TranscriptError
from alliance.core.transcripts.roles import assign_roles
from alliance.core.transcripts.session import mi_quality_probability, session_features

#: Codes of the default pack; the research pack's empathy codes follow only when it is on.
MI_COLUMNS = ("therapist_behaviour", "reflection", "question", "client_talk")
CODE_COLUMNS = (*MI_COLUMNS, *packs.EMPATHY_HEADS)
_WORD = re.compile(r"\w+")
#: Below this many counselor turns the summary scores rest on too few codes to mean much.
MIN_COUNSELOR_TURNS = 10


@dataclass
class SessionAnalysis:
    """Everything the reports show: coded utterances, metrics, MI quality, warnings."""

    transcript: Transcript
    rows: list[dict[str, Any]]
    metrics: list[Metric]
    mi_quality: str | None = None
    mi_quality_probability: float | None = None
    warnings: list[str] = field(default_factory=list)
    research: bool = False

    @property
    def code_columns(self) -> tuple[str, ...]:
        """The code columns this analysis has (empathy only with the research pack)."""
        return CODE_COLUMNS if self.research else MI_COLUMNS

    @property
    def packs_note(self) -> str:
        """What the reports say about the research pack: its terms when on, why not when off."""
        return packs.RESEARCH_LABEL if self.research else packs.RESEARCH_OFF_NOTE

    def to_dict(self) -> dict[str, Any]:
        return {
            "research": self.research,
            "packs_note": self.packs_note,
            "transcript_id": self.transcript.transcript_id,
            "format": self.transcript.source_format,
            "speakers": {u.speaker: u.role for u in self.transcript.utterances},
            "mi_quality": self.mi_quality,
            "mi_quality_probability": self.mi_quality_probability,
            "metrics": [m.to_dict() for m in self.metrics],
            "utterances": self.rows,
            "warnings": self.warnings,
        }


def _empathy_context(ctx: coding.Context, roles: list[str]) -> coding.Context:
    """Each counselor turn answers the latest client turn (EPITOME's seeker post)."""
    prev = np.full(len(roles), -1)
    last = -1
    for i, role in enumerate(roles):
        prev[i] = last
        if role == CLIENT:
            last = i
    return coding.Context(ctx.texts, ctx.emb, prev, np.full(len(roles), -1))


def code_utterances(
    transcript: Transcript,
    encoder: Encoder | None = None,
    emb: np.ndarray | None = None,
    research: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Per-utterance codes with probabilities, and per-head probability arrays (NaN = n/a).

    The empathy codes (research pack) are computed, and their columns present, only with
    ``research``."""
    heads = coding.load_heads(research)
    if not heads:
        raise TranscriptError(
            "no transcript models installed (run training/train_transcript_models.py)"
        )
    utts = transcript.utterances
    texts = [u.text for u in utts]
    roles = [u.role or COUNSELOR for u in utts]
    if emb is None:
        emb = (encoder or get_encoder(max_tokens=DIALOGUE_TOKENS)).encode(texts)
    ctx = coding.dialogue_context(texts, [u.speaker for u in utts], emb)
    ectx = _empathy_context(ctx, roles)
    counselor = np.flatnonzero(np.array(roles) == COUNSELOR)
    client = np.flatnonzero(np.array(roles) == CLIENT)
    probs: dict[str, np.ndarray] = {}
    for name, head in heads.items():
        rows = client if name == "client_talk" else counselor
        full = np.full((len(utts), len(head.labels)), np.nan, dtype=np.float32)
        full[rows] = head.predict_proba(ectx if name in coding.EMPATHY_HEADS else ctx, rows)
        probs[name] = full
    columns = CODE_COLUMNS if research else MI_COLUMNS
    coded = [_row(transcript, i, roles[i], probs, heads, columns) for i in range(len(utts))]
    return coded, probs


def _row(
    t: Transcript,
    i: int,
    role: str,
    probs: dict[str, np.ndarray],
    heads: dict[str, coding.Head],
    columns: tuple[str, ...],
) -> dict[str, Any]:
    u = t.utterances[i]
    row: dict[str, Any] = {
        "transcript_id": t.transcript_id,
        "utterance_id": u.utterance_id,
        "speaker": u.speaker,
        "role": role,
        "start": u.start,
        "end": u.end,
        "text": u.text,
        "words": len(_WORD.findall(u.text)),
    }
    for name in columns:
        row[name], row[f"{name}_p"] = "", None
        if name not in probs or np.isnan(probs[name][i, 0]):
            continue
        k = int(np.argmax(probs[name][i]))
        row[name], row[f"{name}_p"] = heads[name].labels[k], round(float(probs[name][i, k]), 3)
    behaviour = row["therapist_behaviour"]
    for sub in ("reflection", "question"):
        if behaviour != sub:
            row[sub], row[f"{sub}_p"] = "", None
    return row


def analyze_transcript(
    transcript: Transcript,
    counselor: str | None = None,
    encoder: Encoder | None = None,
    embeddings: np.ndarray | None = None,
    research: bool = False,
) -> SessionAnalysis:
    """Assign roles, code every utterance, and summarise the session (with the research
    pack's empathy codes only when ``research``: its terms are non-commercial research)."""
    assign_roles(transcript, counselor)
    rows, probs = code_utterances(transcript, encoder, embeddings, research)
    roles = [r["role"] for r in rows]
    feats = session_features(roles, [r["text"] for r in rows], probs)
    p_high = mi_quality_probability(feats)
    quality = None if p_high is None else ("high" if p_high >= 0.5 else "low")
    warnings = list(transcript.warnings)
    n_counselor = roles.count(COUNSELOR)
    if n_counselor < MIN_COUNSELOR_TURNS:
        warnings.append(
            f"short session ({n_counselor} counselor turns): the metrics and the MI "
            "quality estimate are unreliable"
        )
    return SessionAnalysis(
        transcript,
        rows,
        session_metrics(rows, research),
        quality,
        None if p_high is None else round(p_high, 3),
        warnings,
        research,
    )


def analyze_all(
    transcripts: Sequence[Transcript],
    counselor: str | None = None,
    encoder: Encoder | None = None,
    research: bool = False,
) -> list[SessionAnalysis]:
    """Analyse several transcripts, encoding all their utterances in one length-sorted pass
    (batches of similar length pad less than per-transcript batches)."""
    enc = encoder or get_encoder(max_tokens=DIALOGUE_TOKENS)
    emb = enc.encode([u.text for t in transcripts for u in t.utterances])
    bounds = np.cumsum([0, *(len(t.utterances) for t in transcripts)])
    return [
        analyze_transcript(t, counselor, enc, emb[bounds[i] : bounds[i + 1]], research)
        for i, t in enumerate(transcripts)
    ]

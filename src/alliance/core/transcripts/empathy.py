"""EPITOME empathy levels for text-based support pairs (seeker post, response post).

Why: peer-support and chat platforms store (post, reply) pairs rather than sessions; the same
heads that score counselor turns score these replies against the post they answer. These
heads are the research pack (non-commercial research only): callers pass ``research=True``
only once a person has turned it on.
"""

from __future__ import annotations

import numpy as np

from alliance.core.transcripts import coding
from alliance.core.transcripts.encoder import Encoder, get_encoder
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.packs import RESEARCH_OFF_NOTE

PAIR_COLUMNS = ("seeker_post", "response_post")


def score_pairs(
    rows: list[dict[str, str]],
    encoder: Encoder | None = None,
    research: bool = False,
) -> list[dict[str, str]]:
    """Rows with ``emotional_reactions, interpretations, explorations`` (and ``_p``) added;
    refused unless ``research`` (the research pack is on)."""
    if not research:
        raise TranscriptError(RESEARCH_OFF_NOTE)
    if not rows:
        raise TranscriptError("the CSV has no rows")
    missing = [c for c in PAIR_COLUMNS if c not in rows[0]]
    if missing:
        raise TranscriptError(f"CSV lacks column(s): {', '.join(missing)}")
    heads = coding.load_heads(research=True)
    seekers = [r.get("seeker_post") or "" for r in rows]
    responses = [r.get("response_post") or "" for r in rows]
    unique = list(dict.fromkeys(seekers + responses))
    vecs = dict(zip(unique, (encoder or get_encoder()).encode(unique), strict=True))
    ctx = coding.pair_context(
        seekers,
        responses,
        np.array([vecs[s] for s in seekers]),
        np.array([vecs[r] for r in responses]),
    )
    out = [dict(r) for r in rows]
    idx = np.arange(len(rows))
    for name in coding.EMPATHY_HEADS:
        if name not in heads:
            raise TranscriptError(f"model {name!r} is not installed")
        p = heads[name].predict_proba(ctx, idx)
        for row, probs in zip(out, p, strict=True):
            k = int(np.argmax(probs))
            row[name] = heads[name].labels[k]
            row[f"{name}_p"] = f"{probs[k]:.3f}"
    return out

"""Session-level MI quality estimate (high / low) from the utterance codes.

Why: AnnoMI labels each demonstration as high- or low-quality MI; a logistic regression over a
dozen session summaries (behaviour shares, reflection depth, open questions, client change and
sustain talk, talk share, empathy levels) estimates it with a probability. The same function
builds the features for training and for analysis, so they cannot drift apart.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from alliance.core.transcripts.packs import DEFAULT, MODELS_DIR

SESSION_FEATURES = (
    "question",
    "reflection",
    "therapist_input",
    "other",
    "complex_share",
    "open_share",
    "change",
    "sustain",
    "counselor_word_share",
    "log_rq",
    "emotional_reactions",
    "interpretations",
    "explorations",
)
_WORD = re.compile(r"\w+")


def _mean(arr: np.ndarray | None, col: int) -> float:
    if arr is None:
        return 0.0
    vals = arr[:, col][~np.isnan(arr[:, col])]
    return float(vals.mean()) if len(vals) else 0.0


def _share(probs: dict[str, np.ndarray], head: str, parent: int, col: int) -> float:
    beh, sub = probs.get("therapist_behaviour"), probs.get(head)
    if beh is None or sub is None:
        return 0.0
    mask = ~np.isnan(sub[:, col]) & ~np.isnan(beh[:, parent])
    weight = beh[mask, parent]
    return float((weight * sub[mask, col]).sum() / max(weight.sum(), 1e-6))


def _level(arr: np.ndarray | None) -> float:
    if arr is None:
        return 0.0
    ok = ~np.isnan(arr[:, 0])
    return float((arr[ok] @ np.arange(arr.shape[1])).mean()) if ok.any() else 0.0


def session_features(
    roles: list[str], texts: list[str], probs: dict[str, np.ndarray]
) -> list[float]:
    """Features in SESSION_FEATURES order; ``probs[head]`` has NaN rows where it does not apply."""
    beh = probs.get("therapist_behaviour")
    words = [len(_WORD.findall(t)) for t in texts]
    counselor_words = sum(w for w, r in zip(words, roles, strict=True) if r == "counselor")
    n_q = float(np.nansum(beh[:, 0])) if beh is not None else 0.0
    n_r = float(np.nansum(beh[:, 1])) if beh is not None else 0.0
    return [
        *(_mean(beh, k) for k in range(4)),
        _share(probs, "reflection", 1, 1),
        _share(probs, "question", 0, 0),
        _mean(probs.get("client_talk"), 0),
        _mean(probs.get("client_talk"), 2),
        counselor_words / max(sum(words), 1),
        float(np.log((n_r + 1) / (n_q + 1))),
        *(_level(probs.get(h)) for h in ("emotional_reactions", "interpretations", "explorations")),
    ]


@lru_cache(maxsize=1)
def _mi_model(path: Path = MODELS_DIR / DEFAULT / "mi_quality.json") -> dict[str, object] | None:
    return json.loads(path.read_text()) if path.exists() else None


def mi_quality_probability(features: list[float]) -> float | None:
    """P(high-quality MI) for a session, or None when the model is not installed.

    ``features`` are in SESSION_FEATURES order; the model uses the ones it names (the default
    pack's model names no empathy feature, so its estimate is the same with the pack off)."""
    model = _mi_model()
    if model is None:
        return None
    names = list(model.get("features", SESSION_FEATURES))  # type: ignore[call-overload]
    picked = [features[SESSION_FEATURES.index(n)] for n in names]
    x = (np.asarray(picked) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    z = float(x @ np.asarray(model["coef"]) + float(model["bias"]))  # type: ignore[arg-type]
    return 1.0 / (1.0 + float(np.exp(-z)))

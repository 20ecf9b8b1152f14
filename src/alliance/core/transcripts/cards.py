"""Model cards for ``alliance models``: data, licence inherited from the data, metrics, limits.

Why: EPITOME is licensed for non-commercial research only and a model trained on it inherits
that; users must see this, and how good each model is, before relying on it.
"""

from __future__ import annotations

import json
from typing import Any

from alliance.core.transcripts.encoder import MODELS_DIR

CARDS_PATH = MODELS_DIR / "cards.json"


def load_cards() -> list[dict[str, Any]]:
    """The cards written by training (empty when no models are installed)."""
    if not CARDS_PATH.exists():
        return []
    cards: list[dict[str, Any]] = json.loads(CARDS_PATH.read_text(encoding="utf-8"))
    return cards


def render_cards() -> str:
    """Plain-text listing of every card."""
    lines = []
    for card in load_cards():
        lines.append(f"{card['name']} — {card['task']}")
        for key in ("labels", "data", "license", "metrics", "limits", "file"):
            if key in card:
                value = card[key]
                if isinstance(value, dict):
                    value = ", ".join(f"{k} {v}" for k, v in value.items())
                elif isinstance(value, list):
                    value = ", ".join(map(str, value))
                lines.append(f"  {key}: {value}")
        lines.append("")
    return "\n".join(lines) if lines else "no transcript models installed"

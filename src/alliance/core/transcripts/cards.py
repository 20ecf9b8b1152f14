"""Model cards for ``alliance models``: per pack, its terms, state, and each model's data,
licence, metrics and limits.

Why: the research pack's data allow non-commercial research only; users must see which terms
each pack carries, whether it is on, and how good each model is, before relying on it. The
cards live in one file beside the packs (not inside them), so listing them opens no file of a
pack that is off.
"""

from __future__ import annotations

import json
from typing import Any

from alliance.core.transcripts.packs import MODELS_DIR, PACKS

CARDS_PATH = MODELS_DIR / "cards.json"
CARD_KEYS = ("labels", "data", "license", "metrics", "limits", "file")


def load_cards() -> list[dict[str, Any]]:
    """The cards written by training (empty when no models are installed)."""
    if not CARDS_PATH.exists():
        return []
    cards: list[dict[str, Any]] = json.loads(CARDS_PATH.read_text(encoding="utf-8"))
    return cards


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def render_cards(enabled: frozenset[str] = frozenset()) -> str:
    """Plain-text listing: each pack (state, terms), then its cards. ``enabled`` names the
    opt-in packs that are on."""
    cards = load_cards()
    if not cards:
        return "no transcript models installed"
    lines = []
    for pack in PACKS.values():
        state = "on" if not pack.opt_in or pack.name in enabled else "off"
        how = " (opt-in: alliance models enable research)" if pack.opt_in else " (always on)"
        lines += [f"== {pack.name} pack: {pack.title} — {state}{how}", f"terms: {pack.terms}", ""]
        for card in (c for c in cards if c.get("pack", "default") == pack.name):
            lines.append(f"{card['name']} — {card['task']}")
            lines += [f"  {key}: {_value(card[key])}" for key in CARD_KEYS if key in card]
            lines.append("")
    return "\n".join(lines)

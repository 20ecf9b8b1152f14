"""Model packs: which shipped model files may be used for what, and which are loaded.

Why: the EPITOME empathy data (and ESConv) allow non-commercial research only, AnnoMI and the
base encoder allow any use. The codes are split by the terms of what they were trained on: the
default pack (MI codes, MI-quality estimate, the encoder as released) is what every caller gets;
the research pack's files live in their own folder and are opened only when a caller passes
``research=True`` — which the CLI and the web app do only after a person has turned it on
knowingly. The terms below are the text shown wherever a pack is listed or enabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT = "default"
RESEARCH = "research"


@dataclass(frozen=True)
class Pack:
    """One pack: its folder, the heads in it, and the terms its training data impose."""

    name: str
    title: str
    heads: tuple[str, ...]
    terms: str
    opt_in: bool

    @property
    def directory(self) -> Path:
        return MODELS_DIR / self.name


PACKS: dict[str, Pack] = {
    DEFAULT: Pack(
        DEFAULT,
        "MI codes and MI-quality estimate",
        ("therapist_behaviour", "reflection", "question", "client_talk"),
        "Any use, commercial included: trained only on AnnoMI (released by its authors as "
        "public domain) over the all-MiniLM-L6-v2 encoder as released (Apache-2.0), "
        "re-quantised to int8 but not fine-tuned.",
        opt_in=False,
    ),
    RESEARCH: Pack(
        RESEARCH,
        "EPITOME empathy codes (emotional reactions, interpretations, explorations)",
        ("emotional_reactions", "interpretations", "explorations"),
        "NON-COMMERCIAL RESEARCH ONLY: trained on EPITOME (Sharma et al. 2020), whose licence "
        "allows non-commercial research use only. A clinic, practice or training programme "
        "that charges fees may not use it.",
        opt_in=True,
    ),
}
EMPATHY_HEADS = PACKS[RESEARCH].heads
#: Shown (CLI, reports, web pages) where empathy codes would be, when the pack is off.
RESEARCH_OFF_NOTE = (
    "Empathy codes (EPITOME) are not shown: they are in the research pack, licensed for "
    "non-commercial research only, which is off. Turn it on with `alliance models enable "
    "research` (CLI) or, in the web app, a clinic admin under Clinic administration > "
    "Transcript models."
)
#: Label put beside empathy codes when the research pack is on.
RESEARCH_LABEL = "Empathy codes from the research pack (EPITOME): non-commercial research only"


def pack_of(head: str) -> Pack:
    """The pack a head belongs to."""
    for pack in PACKS.values():
        if head in pack.heads:
            return pack
    raise KeyError(head)


def strip_research(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report without empathy values (for a clinic that turned the pack off since)."""
    out = dict(report)
    out["metrics"] = [m for m in report.get("metrics", []) if not is_empathy_key(m.get("key", ""))]
    out["utterances"] = [
        {k: v for k, v in row.items() if not is_empathy_key(k)}
        for row in report.get("utterances", [])
    ]
    out["research"] = False
    return out


def is_empathy_key(key: str) -> bool:
    """Whether a metric or utterance-row key holds a research-pack (empathy) value."""
    return any(key == h or key.startswith((f"{h}_", f"empathy_{h}")) for h in EMPATHY_HEADS)

"""The vocabulary of early warnings: what goes in (observations) and what comes out (findings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

RISK = "risk"
ALLIANCE_RUPTURE = "alliance_rupture"
NOT_ON_TRACK = "not_on_track"
RELIABLE_DETERIORATION = "reliable_deterioration"
NO_RELIABLE_CHANGE = "no_reliable_change"
KINDS = (RISK, ALLIANCE_RUPTURE, NOT_ON_TRACK, RELIABLE_DETERIORATION, NO_RELIABLE_CHANGE)

SAFETY, WARNING, INFO = "safety", "warning", "info"


@dataclass(frozen=True)
class Observation:
    """One scored administration of one instrument for one client."""

    client_id: str
    session: int
    date: dt.date | None
    instrument: str
    total: float | None
    items: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """An alert condition found at one session: which rule fired and the numbers behind it."""

    client_id: str
    kind: str
    rule: str
    session: int
    instrument: str
    detail: str
    numbers: dict[str, float]
    severity: str
    suggestion: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of the alert across sessions, for de-duplication and re-raising."""
        return (self.client_id, self.kind, self.rule, self.instrument)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertConfig:
    """Settings a clinic may change; defaults are documented in docs/alerts.md.

    ``no_change_session``: flag clients with no reliable change by this session (counting the
    first administration as session 1). ``ntt_method``: ``etr`` (expected treatment response
    band) or ``nn`` (nearest neighbours, Lutz et al.). ``ntt_from_session``: the first session
    at which not-on-track is judged. ``band_z``: one-sided z of the tolerance band (1.2816 = 90%).
    """

    no_change_session: int = 6
    ntt_method: str = "etr"
    ntt_from_session: int = 3
    band_z: float = 1.2816
    neighbours: int = 30
    min_reference_episodes: int = 50

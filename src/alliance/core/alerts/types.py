"""The vocabulary of early warnings, in one place: kinds, severities, statuses, lifecycle verbs,
the alert key, and what goes in (observations) and what comes out (findings).

The web app stores these values and its models take their ``choices`` from here, so a value is
spelled once and compared as an enum member everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class _Labelled(StrEnum):
    """A value with a label for people: ``alliance_rupture`` -> ``Alliance rupture``."""

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Kind(_Labelled):
    """What an alert is about."""

    RISK = "risk"
    ALLIANCE_RUPTURE = "alliance_rupture"
    NOT_ON_TRACK = "not_on_track"
    RELIABLE_DETERIORATION = "reliable_deterioration"
    NO_RELIABLE_CHANGE = "no_reliable_change"


class Severity(_Labelled):
    """How urgent an alert is; ``rank`` orders them, most urgent first."""

    SAFETY = "safety"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self]


class Status(_Labelled):
    """Where a stored alert is in its lifecycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Verb(StrEnum):
    """A lifecycle action: raise a new alert, re-raise a resolved one, update a live one, resolve."""

    RAISE = "raise"
    RERAISE = "reraise"
    UPDATE = "update"
    RESOLVE = "resolve"


class NttMethod(StrEnum):
    """Not-on-track method: expected treatment response band, or nearest neighbours."""

    ETR = "etr"
    NN = "nn"


KINDS = tuple(Kind)
SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(Severity)}

Key = tuple[str, str, str, str]


def alert_key(client_id: str, kind: str, rule: str, instrument: str) -> Key:
    """Identity of an alert across sessions, for de-duplication and re-raising."""
    return (str(client_id), str(kind), rule, instrument)


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
    def key(self) -> Key:
        """Identity of the alert across sessions, for de-duplication and re-raising."""
        return alert_key(self.client_id, self.kind, self.rule, self.instrument)

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
    ntt_method: str = NttMethod.ETR
    ntt_from_session: int = 3
    band_z: float = 1.2816
    neighbours: int = 30
    min_reference_episodes: int = 50

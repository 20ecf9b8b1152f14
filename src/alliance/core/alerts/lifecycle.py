"""Alert lifecycle: open, acknowledged with a note, resolved; re-raised when a condition recurs.

The web app stores alerts; this module decides, from the alerts already stored and the findings
that hold now, what should change. Risk alerts are never resolved automatically, and a risk answer
at a later session than an acknowledged or resolved risk alert is a new event: it raises a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alliance.core.alerts.types import RISK, Finding

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Stored:
    """What the lifecycle needs to know of a stored alert: its status and the session it is about."""

    status: str
    session: int | None = None


@dataclass(frozen=True)
class Action:
    """``raise`` a new alert, ``reraise`` a resolved one, ``update`` a live one, or ``resolve``."""

    verb: str
    key: Key
    finding: Finding | None = None


def plan_lifecycle(stored: dict[Key, Stored], current: Iterable[Finding]) -> list[Action]:
    """Actions that bring stored alerts (the newest per key) in line with the current findings.

    ``current`` should hold the findings at each instrument's latest administration: a condition
    that no longer holds there resolves its alert, except a risk alert, which a person resolves.
    """
    actions: list[Action] = []
    latest: dict[Key, Finding] = {}
    for finding in current:
        previous = latest.get(finding.key)
        if previous is None or finding.session >= previous.session:
            latest[finding.key] = finding
    for key, finding in latest.items():
        actions.append(Action(_verb(stored.get(key), finding), key, finding))
    for key, alert in stored.items():
        if key not in latest and alert.status != RESOLVED and key[1] != RISK:
            actions.append(Action("resolve", key))
    return actions


def _verb(alert: Stored | None, finding: Finding) -> str:
    if alert is None:
        return "raise"
    if alert.status == RESOLVED:
        return "reraise"
    newer = alert.session is None or finding.session > alert.session
    if finding.kind == RISK and alert.status == ACKNOWLEDGED and newer:
        return "raise"  # a new risk answer after someone acted on the last one must be seen
    return "update"

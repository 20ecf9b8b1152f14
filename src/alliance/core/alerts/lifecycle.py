"""Alert lifecycle: open, acknowledged with a note, resolved; re-raised when a condition recurs.

The web app stores alerts; this module decides, from the alerts already stored and the findings
that hold now, what should change. Risk alerts are never resolved automatically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alliance.core.alerts.types import RISK, Finding

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class Action:
    """``raise`` a new alert, ``reraise`` a resolved one, ``update`` a live one, or ``resolve``."""

    verb: str
    key: Key
    finding: Finding | None = None


def plan_lifecycle(stored: dict[Key, str], current: Iterable[Finding]) -> list[Action]:
    """Actions that bring stored alerts (key -> status) in line with the current findings.

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
        status = stored.get(key)
        if status is None:
            actions.append(Action("raise", key, finding))
        elif status == RESOLVED:
            actions.append(Action("reraise", key, finding))
        else:
            actions.append(Action("update", key, finding))
    for key, status in stored.items():
        if key not in latest and status != RESOLVED and key[1] != RISK:
            actions.append(Action("resolve", key))
    return actions

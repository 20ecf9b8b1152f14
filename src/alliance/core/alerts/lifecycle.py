"""Alert lifecycle: open, acknowledged with a note, resolved; re-raised when a condition recurs.

The web app stores alerts; this module decides, from the alerts already stored and the findings
that hold now, what should change. Risk alerts are never resolved automatically, and every risk
answer is an event of its own: it raises an alert once, even when sessions arrive out of order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alliance.core.alerts.types import Finding, Key, Kind, Status, Verb


@dataclass(frozen=True)
class Stored:
    """What the lifecycle needs to know of a stored alert: its status and the session it is about."""

    status: str
    session: int | None = None


@dataclass(frozen=True)
class Action:
    """``raise`` a new alert, ``reraise`` a resolved one, ``update`` a live one, or ``resolve``."""

    verb: Verb
    key: Key
    finding: Finding | None = None


def plan_lifecycle(
    stored: dict[Key, Stored],
    current: Iterable[Finding],
    recorded_risks: Iterable[tuple[Key, int | None]] = (),
) -> list[Action]:
    """Actions that bring stored alerts (the newest per key) in line with the current findings.

    ``current`` holds the findings at each instrument's latest scored administration, plus every
    risk finding of the episode. A condition that no longer holds resolves its alert. Risk is
    different: each risk answer (key and session) is its own alert, raised once whatever order
    the sessions were completed in, and only a person resolves it; ``recorded_risks`` lists the
    (key, session) pairs already stored.
    """
    recorded = set(recorded_risks)
    actions: list[Action] = []
    latest: dict[Key, Finding] = {}
    for finding in current:
        if finding.kind == Kind.RISK:
            if (finding.key, finding.session) not in recorded:
                recorded.add((finding.key, finding.session))
                actions.append(Action(Verb.RAISE, finding.key, finding))
            continue
        previous = latest.get(finding.key)
        if previous is None or finding.session >= previous.session:
            latest[finding.key] = finding
    for key, finding in latest.items():
        actions.append(Action(_verb(stored.get(key)), key, finding))
    for key, alert in stored.items():
        if key not in latest and alert.status != Status.RESOLVED and key[1] != Kind.RISK:
            actions.append(Action(Verb.RESOLVE, key))
    return actions


def _verb(alert: Stored | None) -> Verb:
    if alert is None:
        return Verb.RAISE
    return Verb.RERAISE if alert.status == Status.RESOLVED else Verb.UPDATE

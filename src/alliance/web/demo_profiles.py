"""The synthetic clients behind the demo (``demo``) and the demo at scale (``demo_scale``): their
trajectories and the item answers that produce them. Every name and answer here is invented."""

from __future__ import annotations

import random
from dataclasses import dataclass

from alliance.core.instruments import Instrument


@dataclass(frozen=True)
class Profile:
    """One synthetic client: PHQ-9 / GAD-7 totals and alliance means at first and last session."""

    name: str
    counselor: str
    sessions: int
    phq9: tuple[float, float]
    gad7: tuple[float, float]
    alliance: tuple[float, float]
    rupture_at: int | None = None
    risk_at_last: bool = False
    last_unmeasured: bool = False
    transcripts: tuple[tuple[int, str], ...] = ()  # (session number, bundled transcript file)
    returning: bool = False  # an earlier, discharged episode a year before this one


#: The earlier episode of a returning client: it went well, then life got hard again.
EARLIER = Profile("", "", 10, (16, 7), (12, 5), (4.3, 4.7))


PROFILES = (
    Profile("Sam K.", "counselor", 12, (19, 6), (15, 5), (4.2, 4.8), returning=True),
    Profile("Jo M.", "counselor", 10, (14, 13), (12, 12), (4.0, 4.2), last_unmeasured=True),
    Profile("Lee T.", "counselor", 8, (9, 18), (8, 15), (4.4, 3.6)),
    Profile(
        "Ana R.",
        "counselor",
        14,
        (17, 10),
        (13, 8),
        (4.6, 4.6),
        rupture_at=14,
        transcripts=((13, "strong_session.vtt"), (14, "weak_session.vtt")),
    ),
    Profile("Chris P.", "counselor", 6, (15, 17), (11, 12), (4.4, 4.2), risk_at_last=True),
    Profile("Dee W.", "counselor2", 20, (21, 4), (17, 4), (4.0, 4.9)),
    Profile("Max H.", "counselor2", 6, (11, 11), (9, 10), (4.5, 4.4)),
    Profile("Nia O.", "counselor2", 9, (13, 7), (16, 9), (3.8, 4.5)),
    Profile("Pat Q.", "counselor3", 7, (16, 12), (14, 11), (4.3, 4.4)),
    Profile("Ray S.", "counselor3", 11, (12, 16), (10, 13), (4.5, 4.1)),
)


def spread(instrument: Instrument, target: float, rng: random.Random) -> dict[str, int]:
    """Item answers whose total (sum or mean) is close to ``target``."""
    n = len(instrument.items)
    low, high = int(instrument.min_value), int(instrument.max_value)
    total = round(target * n) if instrument.scoring_method == "mean" else round(target)
    total = max(low * n, min(high * n, total))
    values = [low] * n
    order = list(range(n))
    while sum(values) < total:
        rng.shuffle(order)
        for i in order:
            if sum(values) < total and values[i] < high:
                values[i] += 1
    return {item.id: v for item, v in zip(instrument.items, values, strict=True)}


def target(
    span: tuple[float, float], number: int, count: int, rng: random.Random, noise: float = 1.5
) -> float:
    """A straight line from first to last session plus a little noise."""
    first, last = span
    fraction = (number - 1) / max(count - 1, 1)
    return first + (last - first) * fraction + rng.uniform(-noise, noise)

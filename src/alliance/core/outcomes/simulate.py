"""Simulated treatment episodes with known ground truth, for the alert and outcome benchmarks and
the web demo.

Each episode has a PHQ-9 before every session and the session alliance check after it. Course
types and their parameters (documented in docs/alerts.md, chosen to be plausible against
published routine-care figures):

- improvers (55%): exponential improvement towards intake minus G, G ~ N(0.5 * intake, 2), time
  constant 3-6 sessions; most change early, as in dose-response studies (Howard et al., 1986);
- non-responders (27%): no true change (drift N(0, 1.5) over treatment);
- deteriorators (8%): worsen by N(8, 2) points over treatment; routine-care deterioration rates
  are about 5-10% (Lambert, 2007; Hansen, Lambert & Forman, 2002);
- rupture dropouts (10%): like non-responders, with an alliance rupture (alliance check falls
  by 0.8-1.6) at a session between 3 and 7, and the client drops out 1-2 sessions later.

Intake PHQ-9 ~ N(15.5, 4.5) clipped to 10-27 (clients who are cases at intake); observed scores
add N(0, 2.2) measurement error (PHQ-9 test-retest, Kroenke et al., 2001) and are rounded and
clipped to 0-27. Planned length 8-16 sessions. Alliance check ~ N(4.45, 0.3) per session,
clipped to 1-5 and rounded to 0.2 (five items on 1-5).

The alliance → outcome link (docs/outcomes.md) is set by three parameters, all 0 by default so
the alert benchmarks draw the same numbers as before they existed:

- ``alliance_client_sd``: SD of a client's own mean alliance around 4.45 (a stable client
  difference, drawn after the episode's other draws);
- ``alliance_within``: PHQ-9 points added to the *next* session's score per alliance point this
  session is above the episode's mean alliance (negative: a better session, a lower next score);
- ``alliance_between``: PHQ-9 points added to every later score per point the episode's mean
  alliance is above 4.45.

Both effects are added to the true score before measurement rounding and clipping, so the model
in `alliance.core.outcomes.model` should recover ``alliance_within`` up to that rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alliance.core.alerts.types import Observation

TYPES = ("improver", "non_responder", "deteriorator", "rupture_dropout")
PROPORTIONS = (0.55, 0.27, 0.08, 0.10)
NOISE_SD = 2.2
ALLIANCE_MEAN = 4.45
ALLIANCE_SD = 0.3


@dataclass(frozen=True)
class AllianceEffects:
    """The simulated alliance → next-session PHQ-9 link (see the module docstring)."""

    within: float = 0.0
    between: float = 0.0
    client_sd: float = 0.0


@dataclass
class Episode:
    client_id: str
    kind: str
    phq9: list[int]
    alliance: list[float]
    rupture_session: int | None = None
    observations: list[Observation] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return len(self.phq9)

    @property
    def final_change(self) -> int:
        return self.phq9[-1] - self.phq9[0]


def simulate(
    n: int,
    seed: int,
    prefix: str = "sim",
    *,
    effects: AllianceEffects | None = None,
    observations: bool = True,
) -> list[Episode]:
    """``n`` episodes, one client each, reproducible from ``seed``.

    ``observations=False`` skips the per-session Observation objects (the outcome benchmarks read
    ``phq9`` and ``alliance`` directly, and a million objects cost seconds).
    """
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(TYPES), size=n, p=PROPORTIONS)
    chosen = effects or AllianceEffects()
    return [
        _episode(f"{prefix}{i}", TYPES[k], rng, chosen, observations) for i, k in enumerate(kinds)
    ]


def _episode(
    client_id: str,
    kind: str,
    rng: np.random.Generator,
    effects: AllianceEffects,
    with_observations: bool,
) -> Episode:
    intake = float(np.clip(rng.normal(15.5, 4.5), 10, 27))
    length = int(rng.integers(8, 17))
    rupture = None
    if kind == "rupture_dropout":
        rupture = int(rng.integers(3, 8))
        length = rupture + int(rng.integers(1, 3))
    s = np.arange(length, dtype=float)
    true = _true_course(kind, intake, s, rng)
    noise = rng.normal(0, NOISE_SD, length)
    alliance = np.clip(rng.normal(ALLIANCE_MEAN, ALLIANCE_SD, length), 1, 5)
    if rupture is not None:
        alliance[rupture - 1 :] -= rng.uniform(0.8, 1.6)
    if effects.client_sd > 0:
        alliance = np.clip(alliance + rng.normal(0, effects.client_sd), 1, 5)
    alliance = np.clip(np.round(alliance * 5) / 5, 1, 5)
    true = true + _alliance_effect(alliance, effects)
    observed = np.clip(np.rint(true + noise), 0, 27).astype(int)
    observed[0] = int(np.clip(round(intake), 0, 27))
    episode = Episode(client_id, kind, observed.tolist(), alliance.round(2).tolist(), rupture)
    if with_observations:
        episode.observations = _observations(client_id, observed, alliance)
    return episode


def _alliance_effect(alliance: np.ndarray, effects: AllianceEffects) -> np.ndarray:
    """Added to each session's true PHQ-9: the previous session's alliance, within and between."""
    effect = np.zeros(alliance.shape[0])
    if effects.within == 0 and effects.between == 0:
        return effect
    own_mean = float(alliance.mean())
    effect[1:] = effects.within * (alliance[:-1] - own_mean) + effects.between * (
        own_mean - ALLIANCE_MEAN
    )
    return effect


def _observations(client_id: str, observed: np.ndarray, alliance: np.ndarray) -> list[Observation]:
    return [
        obs
        for session in range(1, observed.shape[0] + 1)
        for obs in (
            Observation(client_id, session, None, "phq9", float(observed[session - 1]), {}),
            Observation(
                client_id, session, None, "alliance_check", float(alliance[session - 1]), {}
            ),
        )
    ]


def _true_course(kind: str, intake: float, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind == "improver":
        gain = max(3.0, rng.normal(0.5 * intake, 2.0))
        tau = rng.uniform(3, 6)
        return intake - gain * (1 - np.exp(-s / tau))
    if kind == "deteriorator":
        loss = max(6.0, rng.normal(8.0, 2.0))
        return intake + loss * s / max(s[-1], 1)
    drift = rng.normal(0, 1.5)
    return intake + drift * s / max(s[-1], 1)

"""Simulated treatment episodes with known ground truth, for evaluating the alert rules.

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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alliance.core.alerts import Observation

TYPES = ("improver", "non_responder", "deteriorator", "rupture_dropout")
PROPORTIONS = (0.55, 0.27, 0.08, 0.10)
NOISE_SD = 2.2


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


def simulate(n: int, seed: int, prefix: str = "sim") -> list[Episode]:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(TYPES), size=n, p=PROPORTIONS)
    return [_episode(f"{prefix}{i}", TYPES[k], rng) for i, k in enumerate(kinds)]


def _episode(client_id: str, kind: str, rng: np.random.Generator) -> Episode:
    intake = float(np.clip(rng.normal(15.5, 4.5), 10, 27))
    length = int(rng.integers(8, 17))
    rupture = None
    if kind == "rupture_dropout":
        rupture = int(rng.integers(3, 8))
        length = rupture + int(rng.integers(1, 3))
    s = np.arange(length, dtype=float)
    true = _true_course(kind, intake, s, rng)
    observed = np.clip(np.rint(true + rng.normal(0, NOISE_SD, length)), 0, 27).astype(int)
    observed[0] = int(np.clip(round(intake), 0, 27))
    alliance = np.clip(rng.normal(4.45, 0.3, length), 1, 5)
    if rupture is not None:
        alliance[rupture - 1 :] -= rng.uniform(0.8, 1.6)
    alliance = np.clip(np.round(alliance * 5) / 5, 1, 5)
    episode = Episode(client_id, kind, observed.tolist(), alliance.round(2).tolist(), rupture)
    episode.observations = [
        obs
        for session in range(1, length + 1)
        for obs in (
            Observation(client_id, session, None, "phq9", float(observed[session - 1]), {}),
            Observation(
                client_id, session, None, "alliance_check", float(alliance[session - 1]), {}
            ),
        )
    ]
    return episode


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

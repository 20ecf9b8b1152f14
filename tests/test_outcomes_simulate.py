"""The simulator, now in the core: unchanged by default, with the alliance link when asked."""

from __future__ import annotations

import numpy as np
from benchmarks.alerts_simulate import simulate as benchmark_simulate

from alliance.core.outcomes.simulate import AllianceEffects, simulate


def test_defaults_draw_the_same_episodes_as_before_the_alliance_effects() -> None:
    # Fingerprint of simulate(40, 7, "t") taken from the simulator before it moved into the core,
    # so the alert benchmarks keep their published figures.
    episodes = benchmark_simulate(40, 7, "t")
    assert sum(sum(e.phq9) for e in episodes) == 5784
    assert round(sum(sum(e.alliance) for e in episodes), 6) == 2085.6
    assert [e.kind for e in episodes[:5]] == [
        "non_responder",
        "deteriorator",
        "non_responder",
        "improver",
        "improver",
    ]
    assert episodes[0].phq9 == [15, 15, 18, 12, 17, 15, 14, 19, 17, 12, 15, 16, 15, 17, 15, 17]
    assert len(episodes[0].observations) == 2 * episodes[0].sessions


def test_zero_effects_equal_the_defaults() -> None:
    plain = simulate(30, 3, observations=False)
    zero = simulate(30, 3, effects=AllianceEffects(0.0, 0.0, 0.0), observations=False)
    assert [e.phq9 for e in plain] == [e.phq9 for e in zero]


def test_a_within_effect_moves_the_next_score_only() -> None:
    # Same seed and no client SD: the alliance and course are the same draws; a negative effect
    # lowers the score after an above-average session, and never touches the first score.
    base = simulate(200, 4, observations=False)
    moved = simulate(200, 4, effects=AllianceEffects(within=-4.0), observations=False)
    assert [e.alliance for e in base] == [e.alliance for e in moved]
    assert all(a.phq9[0] == b.phq9[0] for a, b in zip(base, moved, strict=True))
    after_good, after_poor = [], []
    for a, b in zip(base, moved, strict=True):
        deviation = np.array(a.alliance[:-1]) - np.mean(a.alliance)
        shift = np.array(b.phq9[1:]) - np.array(a.phq9[1:])
        after_good += shift[deviation > 0.2].tolist()
        after_poor += shift[deviation < -0.2].tolist()
    assert np.mean(after_good) < -0.5 < 0.5 < np.mean(after_poor)

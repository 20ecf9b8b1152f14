"""Does the alliance → outcome model find what is there, and only that? A coverage study.

    python -m benchmarks.outcomes_coverage [--clinics 200] [--episodes 150] [--within -1.5]

Simulates ``--clinics`` clinics of ``--episodes`` episodes each twice: once with a true
within-client alliance effect (``--within`` PHQ-9 points per alliance point on the next session,
``--between`` likewise between clients) and once with no effect at all. For each it fits the model
(`alliance.core.outcomes.alliance_outcome`) and counts how often the 95% interval of the
within-client coefficient covers the truth (should be about 95%) and how often, under the null,
the interval excludes 0 (a "finding" that is not there: should be about 5%).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from alliance.core.outcomes import AllianceOutcome, AllianceRows, alliance_outcome
from alliance.core.outcomes.simulate import AllianceEffects, Episode, simulate


def rows_of(episodes: list[Episode]) -> AllianceRows:
    lengths = [e.sessions for e in episodes]
    return AllianceRows(
        episode=np.repeat(np.arange(len(episodes)), lengths),
        session=np.concatenate([np.arange(1, n + 1) for n in lengths]),
        alliance=np.concatenate([e.alliance for e in episodes]),
        outcome=np.concatenate([e.phq9 for e in episodes]).astype(np.float64),
    )


def study(args: argparse.Namespace, effects: AllianceEffects, seed0: int) -> list[AllianceOutcome]:
    fits = []
    for clinic in range(args.clinics):
        episodes = simulate(args.episodes, seed0 + clinic, effects=effects, observations=False)
        result = alliance_outcome(rows_of(episodes), "alliance_check", "phq9")
        if not isinstance(result, AllianceOutcome):
            raise SystemExit(f"clinic {clinic}: {result.sentence}")
        fits.append(result)
    return fits


def wilson_text(count: int, of: int) -> str:
    from alliance.core.outcomes import rate

    r = rate(count, of)
    assert r.value is not None and r.ci_low is not None and r.ci_high is not None
    return f"{100 * r.value:5.1f}% [{100 * r.ci_low:.1f}-{100 * r.ci_high:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=200)
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--within", type=float, default=-1.5)
    parser.add_argument("--between", type=float, default=-1.0)
    parser.add_argument("--client-sd", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=10_000)
    args = parser.parse_args()
    start = time.perf_counter()
    effect = AllianceEffects(args.within, args.between, args.client_sd)
    null = AllianceEffects(0.0, 0.0, args.client_sd)
    with_effect = study(args, effect, args.seed)
    without = study(args, null, args.seed + args.clinics)
    estimates = np.array([f.within.estimate for f in with_effect])
    covered = sum(f.within.ci_low <= args.within <= f.within.ci_high for f in with_effect)
    found = sum(f.within.clear for f in without)
    detected = sum(f.within.clear for f in with_effect)
    se = np.array([f.within.se for f in with_effect])
    pairs = np.mean([f.n_pairs for f in with_effect])
    print(
        f"{args.clinics} clinics x {args.episodes} episodes (~{pairs:.0f} session pairs each), "
        f"true within effect {args.within:+.2f}, between {args.between:+.2f}, "
        f"client SD {args.client_sd}; {time.perf_counter() - start:.0f} s"
    )
    print(f"{'measure':<44} {'value':>24}")
    print(
        f"{'coverage of the true within effect (95% CI)':<44} {wilson_text(covered, args.clinics):>24}"
    )
    print(f"{'false positives under a null effect':<44} {wilson_text(found, args.clinics):>24}")
    print(f"{'power: effect found (CI excludes 0)':<44} {wilson_text(detected, args.clinics):>24}")
    print(
        f"{'mean estimate (SD across clinics)':<44} "
        f"{estimates.mean():+10.3f} ({estimates.std(ddof=1):.3f})"
    )
    print(f"{'mean reported SE':<44} {se.mean():>10.3f}")
    print(f"{'bias (mean estimate - truth)':<44} {estimates.mean() - args.within:+10.3f}")
    print(f"{'Monte Carlo SE of the coverage':<44} {math.sqrt(0.95 * 0.05 / args.clinics):>10.3f}")


if __name__ == "__main__":
    main()

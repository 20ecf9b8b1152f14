"""Time the outcomes report, alliance → outcome model included, on a large simulated clinic.

    python -m benchmarks.outcomes_speed [--episodes 100000] [--sessions 5]

Each simulated episode keeps its first ``--sessions`` sessions (PHQ-9 and alliance check each), so
the defaults give 100,000 episodes and 1,000,000 administrations. Simulation is not timed; the
report is, on one core (set OMP_NUM_THREADS=1 etc. for BLAS; the script does so itself).
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from alliance.core.instruments import bundled_instruments  # noqa: E402
from alliance.core.outcomes import ScoreRows, report  # noqa: E402
from alliance.core.outcomes.simulate import AllianceEffects, Episode, simulate  # noqa: E402


def clinic_rows(episodes: list[Episode], sessions: int) -> ScoreRows:
    """PHQ-9 and alliance check rows for the first ``sessions`` sessions of each episode."""
    lengths = np.array([min(e.sessions, sessions) for e in episodes])
    phq9 = np.concatenate([e.phq9[:sessions] for e in episodes]).astype(np.float64)
    alliance = np.concatenate([e.alliance[:sessions] for e in episodes]).astype(np.float64)
    client = np.repeat(np.array([e.client_id for e in episodes]), lengths)
    session = np.concatenate([np.arange(1, n + 1) for n in lengths])
    n = client.shape[0]
    return ScoreRows(
        client_id=np.concatenate((client, client)),
        episode=np.full(2 * n, "1"),
        session=np.concatenate((session, session)).astype(np.int64),
        instrument=np.concatenate((np.full(n, "phq9"), np.full(n, "alliance_check"))),
        total=np.concatenate((phq9, alliance)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    effects = AllianceEffects(within=-1.5, between=-1.0, client_sd=0.3)
    episodes = simulate(args.episodes, args.seed, effects=effects, observations=False)
    rows = clinic_rows(episodes, args.sessions)
    instruments = bundled_instruments()
    import statsmodels.regression.mixed_linear_model  # noqa: F401  (import not timed)

    start = time.perf_counter()
    result = report(rows, instruments)
    elapsed = time.perf_counter() - start
    fitted = result.alliance_outcome
    print(f"{args.episodes:,} episodes, {rows.size:,} administrations: report in {elapsed:.1f} s")
    if fitted is not None:
        print(f"  {fitted.sentence}")


if __name__ == "__main__":
    main()

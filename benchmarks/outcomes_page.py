"""The outcomes page's numbers for a period with many closed episodes, without the database.

Run: python benchmarks/outcomes_page.py [--sizes 2000,20000] [--seed 1]

Episodes come from the core's simulator (``alliance.core.outcomes.simulate``, alliance effects
within -2, between -3), with PHQ-9, a GAD-7 that follows it and the alliance check at every
session, spread over 20 counselors in 3 teams. It times ``alliance.web.outcomes.report.build``
(every outcome, both summaries with their bootstrap, the joint rule, the trajectory, the
alliance -> outcome model, the shrunk per-counselor rows): what the page computes after its
three ``values_list`` queries, which are not timed here.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.web.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import django

    django.setup()
    from alliance.core.outcomes.simulate import AllianceEffects, simulate
    from alliance.core.registry import Registry
    from alliance.web.outcomes.data import Cohort, EpisodeRow
    from alliance.web.outcomes.report import Counselor, build

    registry = Registry()
    staff = {c: Counselor(f"counselor{c}", c % 3, f"team {c % 3}") for c in range(20)}
    print("episodes  sessions  seconds  within (95% CI)")
    for size in (int(s) for s in args.sizes.split(",")):
        effects = AllianceEffects(-2.0, -3.0, 0.3)
        episodes = simulate(size, args.seed, effects=effects, observations=False)
        scores: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(dict)
        for pk, sim in enumerate(episodes):
            numbered = list(enumerate(zip(sim.phq9, sim.alliance, strict=True), 1))
            scores["phq9"][pk] = [(n, float(p)) for n, (p, _) in numbered]
            scores["gad7"][pk] = [(n, float(round(0.7 * p))) for n, (p, _) in numbered]
            scores["alliance_check"][pk] = [(n, a) for n, (_, a) in numbered]
        rows = [EpisodeRow(pk, pk, pk % 20, "planned") for pk in range(size)]
        cohort = Cohort(rows, scores, {pk: s.sessions for pk, s in enumerate(episodes)})
        start = time.perf_counter()
        report = build(cohort, registry.get("phq9"), registry, staff)
        seconds = time.perf_counter() - start
        sessions = sum(s.sessions for s in episodes)
        model = report.alliance
        within = getattr(model, "within", None)
        found = (
            f"{within.estimate:.2f} ({within.ci_low:.2f} to {within.ci_high:.2f})"
            if within
            else "-"
        )
        print(f"{size:8,d}  {sessions:8,d}  {seconds:7.2f}  {found}")


if __name__ == "__main__":
    main()

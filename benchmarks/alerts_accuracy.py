"""Sensitivity, specificity and lead time of the not-on-track and deterioration alerts.

Run: python benchmarks/alerts_accuracy.py [--n 2000] [--seed 1]

Ground truth comes from the simulator (alliance.core.outcomes.simulate, via
benchmarks/alerts_simulate.py). An *eventual deteriorator* ends treatment reliably worse than at intake (PHQ-9 +6 or more, observed); a *treatment failure*
ends without reliable improvement. Each method is judged on whether it flags the client before
the final session (lead time = final session - first flag).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from alliance.core.alerts import AlertConfig, Finding, evaluate_client, reference_frame
from benchmarks.alerts_simulate import Episode, simulate


def first_flags(findings: Iterable[Finding], kinds: set[str]) -> dict[str, int]:
    first: dict[str, int] = {}
    for f in findings:
        if f.kind in kinds and f.instrument == "phq9":
            first[f.client_id] = min(first.get(f.client_id, 10**6), f.session)
    return first


def judge(
    episodes: list[Episode], flags: dict[str, int], positive: set[str], improvers: set[str]
) -> dict[str, float]:
    """Sensitivity before the final session, by the third session, lead time, false alarms."""
    hits = [
        e
        for e in episodes
        if e.client_id in positive and flags.get(e.client_id, 10**6) < e.sessions
    ]
    n_pos = max(sum(1 for e in episodes if e.client_id in positive), 1)
    by_third = sum(1 for e in hits if flags[e.client_id] <= 3)
    false_alarms = sum(1 for c in improvers if c in flags)
    leads = [e.sessions - flags[e.client_id] for e in hits]
    return {
        "sensitivity": len(hits) / n_pos,
        "by_session_3": by_third / n_pos,
        "lead_time_median": float(np.median(leads)) if leads else float("nan"),
        "false_alarm_improvers": false_alarms / max(len(improvers), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    test = simulate(args.n, args.seed, "t")
    reference_eps = [
        e for e in simulate(args.n, args.seed + 100, "r") if e.kind != "rupture_dropout"
    ]
    reference = reference_frame(
        [o for e in reference_eps for o in e.observations if o.instrument == "phq9"]
    )
    observations = [o for e in test for o in e.observations]
    deteriorators = {e.client_id for e in test if e.final_change >= 6}
    failures = {e.client_id for e in test if e.final_change > -6}
    improvers = {e.client_id for e in test if e.final_change <= -6}
    print(
        f"{len(test)} simulated episodes (seed {args.seed}): {len(deteriorators)} eventual reliable deteriorators, "
        f"{len(failures)} without reliable improvement, {len(improvers)} reliably improved\n"
    )
    methods = {
        "ETR default": (AlertConfig(), None),
        "ETR fitted": (AlertConfig(), reference),
        "NN k=30": (AlertConfig(ntt_method="nn"), reference),
    }
    header = f"{'method':<12} {'alert':<20} {'target':<13} {'sens':>5} {'by s3':>6} {'lead':>5} {'false alarms':>13}"
    print(header + "\n" + "-" * len(header))
    for name, (config, ref) in methods.items():
        findings = evaluate_client(observations, config, expected=ref)
        for label, kinds in (
            ("not on track", {"not_on_track"}),
            ("NTT + deterioration", {"not_on_track", "reliable_deterioration"}),
        ):
            flags = first_flags(findings, kinds)
            for target, positive in (("deteriorators", deteriorators), ("failures", failures)):
                r = judge(test, flags, positive, improvers)
                print(
                    f"{name:<12} {label:<20} {target:<13} {r['sensitivity']:>5.2f} {r['by_session_3']:>6.2f} "
                    f"{r['lead_time_median']:>5.1f} {r['false_alarm_improvers']:>13.2f}"
                )
    print(
        "\nsens: flagged before the final session; by s3: flagged by session 3; lead: median sessions from"
    )
    print(
        "first flag to the end; false alarms: share of eventually reliably improved clients ever flagged."
    )
    _ruptures(test, observations)


def _ruptures(test: list[Episode], observations: list) -> None:  # type: ignore[type-arg]
    findings = evaluate_client(
        [o for o in observations if o.instrument == "alliance_check"], AlertConfig()
    )
    by_client: dict[str, set[int]] = defaultdict(set)
    for f in findings:
        if f.kind == "alliance_rupture" and f.rule != "alliance:ceiling_at_intake":
            by_client[f.client_id].add(f.session)
    dropouts = [e for e in test if e.kind == "rupture_dropout"]
    caught = sum(
        1 for e in dropouts if any(s <= (e.rupture_session or 0) for s in by_client[e.client_id])
    )
    others = [e for e in test if e.kind != "rupture_dropout"]
    alarmed = sum(1 for e in others if by_client[e.client_id])
    print(
        f"\nalliance rupture alerts: {caught}/{len(dropouts)} rupture-dropouts flagged at or before the rupture "
        f"session ({caught / max(len(dropouts), 1):.2f}); {alarmed}/{len(others)} other clients had at least one "
        f"rupture alert ({alarmed / max(len(others), 1):.2f})"
    )


if __name__ == "__main__":
    main()

"""Time to recompute every alert for a large clinic on one core.

Run: python benchmarks/alerts_speed.py [--clients 100000] [--per-client 10]

Builds 100,000 clients x 10 administrations (5 PHQ-9 with item answers, 5 alliance checks) =
1,000,000 rows as columns (as they come from a database query), then times building the sorted
frame and evaluating every rule. numpy's sort and elementwise work run on one thread here; set
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 to be sure.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from alliance.core.alerts import AlertConfig, evaluate, from_arrays
from alliance.core.instruments import bundled_instruments


def columns(clients: int, per_client: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    half = per_client // 2
    client = np.repeat(np.array([f"client-{i:06d}" for i in range(clients)]), per_client)
    instrument = np.tile(
        np.array(["phq9"] * half + ["alliance_check"] * (per_client - half)), clients
    )
    session = np.tile(
        np.concatenate([np.arange(1, half + 1), np.arange(1, per_client - half + 1)]), clients
    )
    n = clients * per_client
    items = np.full((n, 9), np.nan)
    is_phq = instrument == "phq9"
    items[is_phq] = rng.choice(4, size=(int(is_phq.sum()), 9), p=[0.3, 0.3, 0.25, 0.15])
    items[is_phq, 8] = rng.choice(4, size=int(is_phq.sum()), p=[0.95, 0.03, 0.01, 0.01])
    total = np.where(
        is_phq, np.nansum(items, axis=1), np.round(np.clip(rng.normal(4.4, 0.4, n), 1, 5), 1)
    )
    items[~is_phq, :5] = rng.choice([3, 4, 5], size=(int((~is_phq).sum()), 5), p=[0.1, 0.4, 0.5])
    order = rng.permutation(n)  # arrive unsorted, as from a database
    return client[order], instrument[order], session[order], total[order], items[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--per-client", type=int, default=10)
    args = parser.parse_args()
    data = columns(args.clients, args.per_client)
    instruments = bundled_instruments()
    start = time.perf_counter()
    frame = from_arrays(*data)
    built = time.perf_counter()
    findings = evaluate(frame, instruments, AlertConfig(), events_only=True)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{frame.size:,} administrations for {len(frame.clients):,} clients")
    print(f"build frame (sort, group): {built - start:6.2f} s")
    print(f"evaluate all rules:        {done - built:6.2f} s  ({len(findings):,} alert events)")
    print(f"total:                     {done - start:6.2f} s; peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()

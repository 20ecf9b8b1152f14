"""Alliance rules: below the cutoff, a drop from the previous score or the running mean, an item
at the floor, and the maximum at intake (worth discussing)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from alliance.core.alerts.flags import Flagged, InstrumentRows, fmt
from alliance.core.alerts.frame import Frame
from alliance.core.alerts.types import Kind, Severity


def alliance_flags(on: InstrumentRows) -> Iterator[Flagged]:
    """The alliance rules an instrument's ``alliance`` section switches on."""
    rules = on.instrument.alliance
    if rules is None:
        return
    total, f = on.frame.total, on.frame
    scored = on.frame.select(on.scored)
    if rules.cutoff is not None:
        cutoff = rules.cutoff
        yield Flagged(
            Kind.ALLIANCE_RUPTURE,
            "alliance:below_cutoff",
            Severity.WARNING,
            on.scored & (total < cutoff),
            lambda r: (
                f"{on.name} {fmt(total[r])} at session {f.session[r]} is below the cutoff of {fmt(cutoff)}",
                {"total": float(total[r]), "cutoff": cutoff},
            ),
        )
    if rules.rupture_drop is not None:
        yield from _drops(on, scored, rules.rupture_drop)
    yield _item_floor(on)
    if rules.ceiling_note:
        ceiling = rules.ceiling
        first_scored = np.zeros(f.size, dtype=bool)
        first_scored[np.flatnonzero(on.scored)[scored.group_start]] = True
        yield Flagged(
            Kind.ALLIANCE_RUPTURE,
            "alliance:ceiling_at_intake",
            Severity.INFO,
            first_scored & (total >= ceiling),
            lambda r: (
                f"{on.name} at its maximum ({fmt(total[r])}) at the first administration "
                f"(session {f.session[r]}): worth discussing",
                {"total": float(total[r]), "ceiling": ceiling},
            ),
        )


def _drops(on: InstrumentRows, scored: Frame, threshold: float) -> Iterator[Flagged]:
    rows = np.flatnonzero(on.scored)
    previous = np.full(on.frame.size, np.nan)
    mean_previous = np.full(on.frame.size, np.nan)
    previous[rows] = scored.previous(scored.total)
    mean_previous[rows] = scored.mean_of_previous(scored.total)
    total, f = on.frame.total, on.frame
    with np.errstate(invalid="ignore"):
        from_previous = on.scored & (previous - total >= threshold - 1e-9)
        from_mean = on.scored & (mean_previous - total >= threshold - 1e-9) & ~from_previous
    yield Flagged(
        Kind.ALLIANCE_RUPTURE,
        "alliance:drop_from_previous",
        Severity.WARNING,
        from_previous,
        lambda r: (
            f"{on.name} fell from {fmt(previous[r])} to {fmt(total[r])} at session {f.session[r]} "
            f"(drop {fmt(previous[r] - total[r])}; threshold {fmt(threshold)})",
            {"previous": float(previous[r]), "total": float(total[r]), "threshold": threshold},
        ),
    )
    yield Flagged(
        Kind.ALLIANCE_RUPTURE,
        "alliance:drop_from_mean",
        Severity.WARNING,
        from_mean,
        lambda r: (
            f"{on.name} {fmt(total[r])} at session {f.session[r]} is {fmt(mean_previous[r] - total[r])} "
            f"below the client's running mean of {fmt(mean_previous[r])} (threshold {fmt(threshold)})",
            {
                "running_mean": float(mean_previous[r]),
                "total": float(total[r]),
                "threshold": threshold,
            },
        ),
    )


def _item_floor(on: InstrumentRows) -> Flagged:
    width = min(len(on.instrument.items), on.frame.items.shape[1])
    block = on.frame.items[:, :width]
    floor = on.instrument.min_value
    at_floor = block == floor
    mask = on.rows & at_floor.any(axis=1)
    ids = [i.id for i in on.instrument.items[:width]]

    def describe(r: int) -> tuple[str, dict[str, float]]:
        hit = [ids[p] for p in np.flatnonzero(at_floor[r])]
        text = f"{on.name} item(s) at the floor ({fmt(floor)}) at session {on.frame.session[r]}: {', '.join(hit)}"
        return text, {"items_at_floor": float(len(hit)), "floor": floor}

    return Flagged(Kind.ALLIANCE_RUPTURE, "alliance:item_floor", Severity.WARNING, mask, describe)

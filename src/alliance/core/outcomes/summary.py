"""What a set of episodes achieved: rates, effect size, attendance, dropout, satisfaction.

Denominators follow the NHS Talking Therapies manual (v7, 2024): reliable improvement and
deterioration over episodes that finished treatment (here: ``paired``, two or more scores);
recovery and reliable recovery over those that were also a case at the start. Completeness is the
share of episodes that are paired: a clinic whose unpaired episodes are many cannot read much into
its rates, whatever they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alliance.core.instruments import Instrument
from alliance.core.outcomes.episodes import Ending, EpisodeOutcome
from alliance.core.outcomes.rates import Z_95, Rate, rate

BOOTSTRAP_RESAMPLES = 1000  # percentile interval; Efron & Tibshirani (1993) suggest >= 1000
_CHUNK = 5_000_000  # resampled values held in memory at once


@dataclass(frozen=True)
class Summary:
    """Outcomes of one measure (or the joint rule) over a set of episodes.

    ``effect_size`` is the pre-post effect size: mean improvement (first minus last where lower is
    better) divided by the SD of the first scores, with a bootstrap 95% interval.
    """

    instrument: str
    episodes: int
    paired: int
    completeness: Rate
    reliable_improvement: Rate
    reliable_deterioration: Rate
    recovery: Rate
    reliable_recovery: Rate
    effect_size: float | None
    effect_ci: tuple[float, float] | None
    mean_first: float | None
    mean_last: float | None
    sd_first: float | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instrument": self.instrument,
            "episodes": self.episodes,
            "paired": self.paired,
            "completeness": self.completeness.value,
            "completeness_ci": _ci(self.completeness),
        }
        for name in (
            "reliable_improvement",
            "reliable_deterioration",
            "recovery",
            "reliable_recovery",
        ):
            r: Rate = getattr(self, name)
            out[f"{name}_rate"] = r.value
            out[f"{name}_ci"] = _ci(r)
            out[f"{name}_count"] = r.count
            out[f"{name}_of"] = r.of
        out["effect_size"] = self.effect_size
        out["effect_size_ci"] = None if self.effect_ci is None else list(self.effect_ci)
        out["mean_first"] = self.mean_first
        out["mean_last"] = self.mean_last
        out["sd_first"] = self.sd_first
        return out


def _ci(r: Rate) -> list[float] | None:
    return None if r.ci_low is None or r.ci_high is None else [r.ci_low, r.ci_high]


def summarise(
    outcomes: Sequence[EpisodeOutcome],
    instrument: str,
    *,
    higher_is_better: bool | None = None,
    seed: int = 0,
) -> Summary:
    """Aggregate the episodes of ``instrument`` among ``outcomes`` (others are ignored).

    The effect size needs the measure's direction: pass ``higher_is_better`` or leave it to the
    bundled instrument file; the joint rule, with no single score, has none.
    """
    rows = [o for o in outcomes if o.instrument == instrument]
    paired = [o for o in rows if o.paired]
    cases = [o for o in paired if o.case_at_start]
    direction = _direction(instrument) if higher_is_better is None else higher_is_better
    effect, effect_ci, mean_first, mean_last, sd_first = _effect(paired, direction, seed)
    return Summary(
        instrument=instrument,
        episodes=len(rows),
        paired=len(paired),
        completeness=rate(len(paired), len(rows)),
        reliable_improvement=rate(sum(o.reliably_improved for o in paired), len(paired)),
        reliable_deterioration=rate(sum(o.reliably_deteriorated for o in paired), len(paired)),
        recovery=rate(sum(bool(o.recovered) for o in cases), len(cases)),
        reliable_recovery=rate(sum(bool(o.reliably_recovered) for o in cases), len(cases)),
        effect_size=effect,
        effect_ci=effect_ci,
        mean_first=mean_first,
        mean_last=mean_last,
        sd_first=sd_first,
    )


def _direction(instrument: str) -> bool | None:
    from alliance.core.instruments import bundled_instruments

    found = bundled_instruments().get(instrument)
    return None if found is None else found.higher_is_better


def _effect(
    paired: Sequence[EpisodeOutcome], higher_is_better: bool | None, seed: int
) -> tuple[float | None, tuple[float, float] | None, float | None, float | None, float | None]:
    with_scores = [o for o in paired if o.first is not None and o.last is not None]
    if not with_scores:
        return None, None, None, None, None
    first = np.array([o.first for o in with_scores], dtype=np.float64)
    last = np.array([o.last for o in with_scores], dtype=np.float64)
    mean_first, mean_last = float(first.mean()), float(last.mean())
    if len(first) < 2 or higher_is_better is None:
        return None, None, mean_first, mean_last, None
    sd = float(first.std(ddof=1))
    if sd == 0:
        return None, None, mean_first, mean_last, 0.0
    improvement = last - first if higher_is_better else first - last
    effect = float(improvement.mean() / sd)
    return effect, _bootstrap(first, improvement, seed), mean_first, mean_last, sd


def _bootstrap(first: np.ndarray, improvement: np.ndarray, seed: int) -> tuple[float, float] | None:
    """Percentile 95% interval of the effect size over episodes resampled with replacement."""
    n = first.shape[0]
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK // n)
    values: list[np.ndarray] = []
    done = 0
    while done < BOOTSTRAP_RESAMPLES:
        k = min(per_chunk, BOOTSTRAP_RESAMPLES - done)
        index = rng.integers(0, n, size=(k, n))
        f, g = first[index], improvement[index]
        sd = f.std(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values.append(np.where(sd > 0, g.mean(axis=1) / sd, np.nan))
        done += k
    effects = np.concatenate(values)
    effects = effects[np.isfinite(effects)]
    if effects.size == 0:
        return None
    low, high = np.percentile(effects, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class Attendance:
    """Sessions attended per episode (sessions with any scored or recorded administration)."""

    episodes: int
    mean_sessions: float | None
    median_sessions: float | None
    single_session: Rate  # episodes seen once: they cannot have a paired outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "mean_sessions": self.mean_sessions,
            "median_sessions": self.median_sessions,
            "single_session_rate": self.single_session.value,
            "single_session_ci": _ci(self.single_session),
        }


def attendance(sessions_per_episode: Sequence[int]) -> Attendance:
    counts = np.asarray(sessions_per_episode, dtype=np.int64)
    if counts.size == 0:
        return Attendance(0, None, None, rate(0, 0))
    return Attendance(
        episodes=int(counts.size),
        mean_sessions=float(counts.mean()),
        median_sessions=float(np.median(counts)),
        single_session=rate(int((counts == 1).sum()), int(counts.size)),
    )


@dataclass(frozen=True)
class Dropout:
    """How ended episodes ended; dropout is an unplanned ending, over episodes with an ending."""

    ended: int
    by_ending: dict[str, int]
    dropout: Rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "ended": self.ended,
            "by_ending": dict(self.by_ending),
            "dropout_rate": self.dropout.value,
            "dropout_ci": _ci(self.dropout),
            "dropout_count": self.dropout.count,
        }


def dropout(endings: Sequence[Ending | None]) -> Dropout:
    """Summarise endings; episodes with no recorded ending (still open) are left out."""
    known = [Ending(e) for e in endings if e is not None]
    by_ending = {e.value: sum(1 for k in known if k == e) for e in Ending}
    return Dropout(
        ended=len(known),
        by_ending=by_ending,
        dropout=rate(by_ending[Ending.UNPLANNED.value], len(known)),
    )


@dataclass(frozen=True)
class Satisfaction:
    """End-of-treatment satisfaction: mean with a 95% interval and the share satisfied.

    "Satisfied" is the instrument's own band of that name (satisfaction_check: a mean of 4,
    "agree", or more; a project convention, not a validated cutoff).
    """

    instrument: str
    responses: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    satisfied: Rate
    response_rate: Rate | None  # responses over ended episodes, when the ended count is known

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "responses": self.responses,
            "mean": self.mean,
            "ci": None if self.ci_low is None else [self.ci_low, self.ci_high],
            "satisfied_rate": self.satisfied.value,
            "satisfied_ci": _ci(self.satisfied),
            "response_rate": None if self.response_rate is None else self.response_rate.value,
        }


def satisfaction(
    instrument: Instrument, totals: Sequence[float], ended: int | None = None
) -> Satisfaction:
    """Summarise one end-of-treatment total per episode (NaN = unscorable, skipped)."""
    values = np.asarray(totals, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = int(values.size)
    cutoff = next((b.min for b in instrument.bands if b.id == "satisfied"), None)
    satisfied = rate(0, 0) if cutoff is None else rate(int((values >= cutoff).sum()), n)
    mean = float(values.mean()) if n else None
    half = Z_95 * float(values.std(ddof=1)) / np.sqrt(n) if n > 1 else None
    return Satisfaction(
        instrument=instrument.id,
        responses=n,
        mean=mean,
        ci_low=None if half is None or mean is None else mean - half,
        ci_high=None if half is None or mean is None else mean + half,
        satisfied=satisfied,
        response_rate=None if ended is None or ended < n else rate(n, ended),
    )

"""The alert rules, each vectorised over a Frame: risk, rupture, deterioration, no change, not on track.

Every rule returns a boolean mask of the rows where its condition holds; ``evaluate`` turns the
flagged rows into :class:`Finding` objects with the numbers behind them. With ``events_only`` a
condition that holds at consecutive administrations is reported once, where it starts (risk
answers are always reported, every time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from alliance.core.alerts import expected
from alliance.core.alerts.frame import BoolArray, FloatArray, Frame
from alliance.core.alerts.suggestions import suggestion_for
from alliance.core.alerts.types import (
    ALLIANCE_RUPTURE,
    INFO,
    NO_RELIABLE_CHANGE,
    NOT_ON_TRACK,
    RELIABLE_DETERIORATION,
    RISK,
    SAFETY,
    WARNING,
    AlertConfig,
    Finding,
)
from alliance.core.change import reliable_change_threshold
from alliance.core.instruments import Caseness, Instrument

Describe = Callable[[int], tuple[str, dict[str, float]]]


@dataclass(frozen=True)
class Flagged:
    """Rows where one rule holds, and how to describe each of them."""

    kind: str
    rule: str
    severity: str
    mask: BoolArray
    describe: Describe


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


class InstrumentRules:
    """All rules for the rows of one instrument in a frame."""

    def __init__(
        self,
        frame: Frame,
        index: int,
        instrument: Instrument,
        config: AlertConfig,
        reference: Frame | None,
    ) -> None:
        self.frame, self.index, self.instrument, self.config = frame, index, instrument, config
        self.reference = reference
        self.rows = frame.instrument == index
        self.scored = self.rows & np.isfinite(frame.total)
        self.name = instrument.short_title

    def all(self) -> Iterator[Flagged]:
        yield from self.risk()
        if self.instrument.alliance is not None:
            yield from self.alliance()
        if self.instrument.kind == "outcome" and self.instrument.reliable_change is not None:
            yield from self.outcome()

    # -- risk ---------------------------------------------------------------------------
    def risk(self) -> Iterator[Flagged]:
        items = self.frame.items
        for rule in self.instrument.risk_rules:
            position = [i.id for i in self.instrument.items].index(rule.item)
            if position >= items.shape[1]:
                continue
            values = items[:, position]
            with np.errstate(invalid="ignore"):
                mask = self.rows & (values >= rule.min_value)
            describe = self._describe_risk(f"item {position + 1}", rule.message, values)
            yield Flagged(RISK, rule.flag, SAFETY, mask, describe)

    def _describe_risk(self, item_label: str, message: str, values: FloatArray) -> Describe:
        labels = {o.value: o.label for o in self.instrument.options}

        def describe(row: int) -> tuple[str, dict[str, float]]:
            value = float(values[row])
            label = labels.get(int(value), "") if value.is_integer() else ""
            answer = f"{_fmt(value)} ({label})" if label else _fmt(value)
            text = f"{message}: {self.name} {item_label} answered {answer} at session {self.frame.session[row]}"
            return text, {"item_value": value}

        return describe

    # -- alliance -----------------------------------------------------------------------
    def alliance(self) -> Iterator[Flagged]:
        rules = self.instrument.alliance
        assert rules is not None
        total, f = self.frame.total, self.frame
        scored = self.frame.select(self.scored)
        if rules.cutoff is not None:
            cutoff = rules.cutoff
            yield Flagged(
                ALLIANCE_RUPTURE,
                "alliance:below_cutoff",
                WARNING,
                self.scored & (total < cutoff),
                lambda r: (
                    f"{self.name} {_fmt(total[r])} at session {f.session[r]} is below the cutoff of {_fmt(cutoff)}",
                    {"total": float(total[r]), "cutoff": cutoff},
                ),
            )
        if rules.rupture_drop is not None:
            yield from self._drops(scored, rules.rupture_drop)
        yield self._item_floor()
        if rules.ceiling_note:
            ceiling = rules.ceiling
            first_scored = np.zeros(f.size, dtype=bool)
            first_scored[np.flatnonzero(self.scored)[scored.group_start]] = True
            yield Flagged(
                ALLIANCE_RUPTURE,
                "alliance:ceiling_at_intake",
                INFO,
                first_scored & (total >= ceiling),
                lambda r: (
                    f"{self.name} at its maximum ({_fmt(total[r])}) at the first administration "
                    f"(session {f.session[r]}): worth discussing",
                    {"total": float(total[r]), "ceiling": ceiling},
                ),
            )

    def _drops(self, scored: Frame, threshold: float) -> Iterator[Flagged]:
        rows = np.flatnonzero(self.scored)
        previous = np.full(self.frame.size, np.nan)
        mean_previous = np.full(self.frame.size, np.nan)
        previous[rows] = scored.previous(scored.total)
        mean_previous[rows] = scored.mean_of_previous(scored.total)
        total, f = self.frame.total, self.frame
        with np.errstate(invalid="ignore"):
            from_previous = self.scored & (previous - total >= threshold - 1e-9)
            from_mean = self.scored & (mean_previous - total >= threshold - 1e-9) & ~from_previous
        yield Flagged(
            ALLIANCE_RUPTURE,
            "alliance:drop_from_previous",
            WARNING,
            from_previous,
            lambda r: (
                f"{self.name} fell from {_fmt(previous[r])} to {_fmt(total[r])} at session {f.session[r]} "
                f"(drop {_fmt(previous[r] - total[r])}; threshold {_fmt(threshold)})",
                {"previous": float(previous[r]), "total": float(total[r]), "threshold": threshold},
            ),
        )
        yield Flagged(
            ALLIANCE_RUPTURE,
            "alliance:drop_from_mean",
            WARNING,
            from_mean,
            lambda r: (
                f"{self.name} {_fmt(total[r])} at session {f.session[r]} is {_fmt(mean_previous[r] - total[r])} "
                f"below the client's running mean of {_fmt(mean_previous[r])} (threshold {_fmt(threshold)})",
                {
                    "running_mean": float(mean_previous[r]),
                    "total": float(total[r]),
                    "threshold": threshold,
                },
            ),
        )

    def _item_floor(self) -> Flagged:
        width = min(len(self.instrument.items), self.frame.items.shape[1])
        block = self.frame.items[:, :width]
        floor = self.instrument.min_value
        at_floor = block == floor
        mask = self.rows & at_floor.any(axis=1)
        ids = [i.id for i in self.instrument.items[:width]]

        def describe(r: int) -> tuple[str, dict[str, float]]:
            hit = [ids[p] for p in np.flatnonzero(at_floor[r])]
            text = f"{self.name} item(s) at the floor ({_fmt(floor)}) at session {self.frame.session[r]}: {', '.join(hit)}"
            return text, {"items_at_floor": float(len(hit)), "floor": floor}

        return Flagged(ALLIANCE_RUPTURE, "alliance:item_floor", WARNING, mask, describe)

    # -- outcome ------------------------------------------------------------------------
    def outcome(self) -> Iterator[Flagged]:
        scored = self.frame.select(self.scored)
        rows = np.flatnonzero(self.scored)
        size = self.frame.size
        intake = np.full(size, np.nan)
        intake[rows] = scored.total[scored.group_first_index()]
        s = np.zeros(size)
        s[rows] = expected.relative_session(scored)
        threshold, _ = reliable_change_threshold(self.instrument)
        sign = 1.0 if self.instrument.higher_is_better else -1.0
        improvement = (self.frame.total - intake) * sign
        yield self._deterioration(improvement, intake, threshold)
        yield self._no_change(improvement, intake, s, threshold)
        flagged = self._not_on_track(scored, rows, intake, s)
        if flagged is not None:
            yield flagged

    def _deterioration(
        self, improvement: FloatArray, intake: FloatArray, threshold: float
    ) -> Flagged:
        total, f = self.frame.total, self.frame
        with np.errstate(invalid="ignore"):
            mask = self.scored & (-improvement >= threshold - 1e-9)
        return Flagged(
            RELIABLE_DETERIORATION,
            "deterioration:from_intake",
            WARNING,
            mask,
            lambda r: (
                f"{self.name} worsened from {_fmt(intake[r])} at intake to {_fmt(total[r])} at session "
                f"{f.session[r]} ({_fmt(-improvement[r])} points; reliable change is {_fmt(threshold)})",
                {"intake": float(intake[r]), "total": float(total[r]), "threshold": threshold},
            ),
        )

    def _no_change(
        self, improvement: FloatArray, intake: FloatArray, s: FloatArray, threshold: float
    ) -> Flagged:
        total, f = self.frame.total, self.frame
        n = self.config.no_change_session
        started_as_case = _is_case(intake, self.instrument.caseness)
        with np.errstate(invalid="ignore"):
            mask = (
                self.scored & (s >= n) & (np.abs(improvement) < threshold - 1e-9) & started_as_case
            )
        return Flagged(
            NO_RELIABLE_CHANGE,
            f"no_change:by_session_{n}",
            INFO,
            mask,
            lambda r: (
                f"{self.name} {_fmt(intake[r])} at intake and {_fmt(total[r])} at session {f.session[r]}: "
                f"no reliable change ({_fmt(threshold)} points) by administration {int(s[r])}",
                {
                    "intake": float(intake[r]),
                    "total": float(total[r]),
                    "threshold": threshold,
                    "administration": float(s[r]),
                },
            ),
        )

    def _not_on_track(
        self, scored: Frame, rows: np.ndarray, intake: FloatArray, s: FloatArray
    ) -> Flagged | None:
        if self.config.ntt_method == "nn":
            return self._not_on_track_nn(scored, rows, s)
        params = self._etr_parameters()
        if params is None:
            return None
        hib = self.instrument.higher_is_better
        exp = expected.etr_expected(params, intake, s)
        band = exp + (-1.0 if hib else 1.0) * self.config.band_z * params.sd
        total, f = self.frame.total, self.frame
        with np.errstate(invalid="ignore"):
            mask = (
                self.scored
                & (s >= self.config.ntt_from_session)
                & expected.worse_than(total, band, hib)
            )
        source = (
            f"fitted from {params.fitted_from} episodes"
            if params.fitted_from
            else "default parameters"
        )
        return Flagged(
            NOT_ON_TRACK,
            "ntt:expected_response",
            WARNING,
            mask,
            lambda r: (
                f"{self.name} {_fmt(total[r])} at session {f.session[r]} is off the expected course "
                f"(expected {_fmt(exp[r])}, tolerance {'down to' if hib else 'up to'} {_fmt(band[r])}; {source})",
                {
                    "total": float(total[r]),
                    "expected": round(float(exp[r]), 2),
                    "bound": round(float(band[r]), 2),
                },
            ),
        )

    def _etr_parameters(self) -> expected.EtrParameters | None:
        if self.reference is not None and self.instrument.id in self.reference.instruments:
            index = self.reference.instruments.index(self.instrument.id)
            fitted = expected.fit_etr(self.reference, index, self.config.min_reference_episodes)
            if fitted is not None:
                return fitted
        return expected.default_parameters(self.instrument.id)

    def _not_on_track_nn(self, scored: Frame, rows: np.ndarray, s: FloatArray) -> Flagged | None:
        if self.reference is None or self.instrument.id not in self.reference.instruments:
            return None
        max_s = int(s.max()) if s.size else 0
        matrix = expected.reference_matrix(
            self.reference, self.reference.instruments.index(self.instrument.id), max(max_s, 1)
        )
        hib = self.instrument.higher_is_better
        mask = np.zeros(self.frame.size, dtype=bool)
        exp, bound = np.full(self.frame.size, np.nan), np.full(self.frame.size, np.nan)
        history = np.full(max(max_s, 1), np.nan)
        for position, row in enumerate(rows):
            if scored.group_start[position]:
                history[:] = np.nan
            rel = int(s[row])
            if rel >= self.config.ntt_from_session:
                found = expected.nn_bounds(
                    matrix, history, rel, self.config.neighbours, hib, self.config.band_z
                )
                if found is not None:
                    exp[row], bound[row] = found
                    mask[row] = bool(
                        expected.worse_than(
                            np.array([self.frame.total[row]]), np.array([found[1]]), hib
                        )[0]
                    )
            if rel <= history.shape[0]:
                history[rel - 1] = self.frame.total[row]
        total, f = self.frame.total, self.frame
        return Flagged(
            NOT_ON_TRACK,
            "ntt:nearest_neighbours",
            WARNING,
            mask,
            lambda r: (
                f"{self.name} {_fmt(total[r])} at session {f.session[r]} is worse than {self.config.neighbours} "
                f"similar clients at this point (their mean {_fmt(exp[r])}, band {_fmt(bound[r])})",
                {
                    "total": float(total[r]),
                    "expected": round(float(exp[r]), 2),
                    "bound": round(float(bound[r]), 2),
                },
            ),
        )


def _is_case(totals: FloatArray, caseness: Caseness | None) -> BoolArray:
    """Caseness of each total, vectorised (every row counts as a case without a cutoff)."""
    if caseness is None:
        return np.ones(totals.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        if caseness.case_when == "at_or_above":
            return np.asarray(totals >= caseness.threshold)
        return np.asarray(totals < caseness.threshold)


def run_starts(frame: Frame, mask: BoolArray) -> BoolArray:
    """Rows where a condition starts holding (it did not hold at the group's previous row)."""
    previous = np.zeros_like(mask)
    previous[1:] = mask[:-1]
    previous[frame.group_start] = False
    result: BoolArray = mask & ~previous
    return result


def evaluate(
    frame: Frame,
    instruments: dict[str, Instrument],
    config: AlertConfig | None = None,
    reference: Frame | None = None,
    events_only: bool = False,
) -> list[Finding]:
    """Findings for every flagged row of ``frame``, ordered by client, session and severity."""
    config = config or AlertConfig()
    findings: list[Finding] = []
    for index, instrument_id in enumerate(frame.instruments):
        instrument = instruments.get(instrument_id)
        if instrument is None:
            continue
        for flagged in InstrumentRules(frame, index, instrument, config, reference).all():
            mask = (
                flagged.mask
                if (flagged.kind == RISK or not events_only)
                else run_starts(frame, flagged.mask)
            )
            suggestion = suggestion_for(flagged.kind, flagged.rule)
            for row in np.flatnonzero(mask):
                detail, numbers = flagged.describe(int(row))
                findings.append(
                    Finding(
                        client_id=frame.client_id(int(row)),
                        kind=flagged.kind,
                        rule=flagged.rule,
                        session=int(frame.session[row]),
                        instrument=instrument_id,
                        detail=detail,
                        numbers=numbers,
                        severity=flagged.severity,
                        suggestion=suggestion,
                    )
                )
    order = {SAFETY: 0, WARNING: 1, INFO: 2}
    findings.sort(key=lambda x: (x.client_id, x.session, order[x.severity], x.kind, x.rule))
    return findings

"""Score one administration: totals, subscales, severity band, risk flags, proration.

Rounding is half-up on Decimal arithmetic, so a prorated 14.5 is 15 (as clinicians round
by hand) and visual-analogue sums such as 9.1 + 9.2 are exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument

Answer = float | int | None


@dataclass(frozen=True)
class RiskFlag:
    flag: str
    item: str
    value: float
    message: str


@dataclass(frozen=True)
class Score:
    """The result of scoring one administration; ``total`` is None when unscorable."""

    instrument: str
    total: float | None
    scorable: bool
    answered: int
    items: int
    missing_items: list[str]
    prorated: bool
    reason: str | None
    severity: str | None
    severity_label: str | None
    case: bool | None
    subscales: dict[str, float | None]
    flags: list[str]
    risk: list[RiskFlag]
    item_scores: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_answer(raw: str, position: int) -> Answer:
    """Parse one CLI/CSV answer; ``-``, ``NA`` or empty mark a missing answer."""
    text = raw.strip()
    if text.lower() in {"", "-", "na", "n/a", "none", "missing"}:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidAnswersError(f"answer {position} ({raw!r}) is not a number") from None
    return int(value) if value.is_integer() else value


def normalise_answers(
    instrument: Instrument, answers: Sequence[Answer] | Mapping[str, Answer]
) -> dict[str, Answer]:
    """Answers keyed by item id, checked for count, unknown items and allowed values."""
    if isinstance(answers, Mapping):
        unknown = sorted(set(answers) - {i.id for i in instrument.items})
        if unknown:
            raise InvalidAnswersError(f"{instrument.id} has no item(s) {', '.join(unknown)}")
        keyed = {i.id: answers.get(i.id) for i in instrument.items}
    else:
        if len(answers) != len(instrument.items):
            raise InvalidAnswersError(
                f"{instrument.id} has {len(instrument.items)} items; got {len(answers)} answers"
            )
        keyed = {i.id: a for i, a in zip(instrument.items, answers, strict=True)}
    for position, (item_id, value) in enumerate(keyed.items(), start=1):
        if value is not None:
            _check_value(instrument, position, item_id, value)
    return keyed


def _check_value(instrument: Instrument, position: int, item_id: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAnswersError(f"answer {position} ({item_id}) must be a number, got {value!r}")
    rng = instrument.response_range
    if rng is not None:
        steps = (Decimal(str(value)) - Decimal(str(rng.min))) / Decimal(str(rng.step))
        if not rng.min <= value <= rng.max or steps != steps.to_integral_value():
            raise InvalidAnswersError(
                f"answer {position} ({item_id}) = {value} is outside {rng.min}-{rng.max} "
                f"in steps of {rng.step}"
            )
        return
    allowed = [o.value for o in instrument.options]
    if value not in allowed:
        raise InvalidAnswersError(
            f"answer {position} ({item_id}) = {value} is not one of {', '.join(map(str, allowed))}"
        )


def score(instrument: Instrument, answers: Sequence[Answer] | Mapping[str, Answer]) -> Score:
    """Score an administration of ``instrument``; raises InvalidAnswersError on bad answers."""
    keyed = normalise_answers(instrument, answers)
    item_scores = {i.id: _keyed(instrument, i.reverse, keyed[i.id]) for i in instrument.items}
    present = [Decimal(str(v)) for v in item_scores.values() if v is not None]
    missing = [k for k, v in item_scores.items() if v is None]
    risk = _risk_flags(instrument, keyed)
    flags = [r.flag for r in risk]
    reason = _unscorable_reason(instrument, len(missing))
    total = None if reason else _total(instrument, present)
    prorated = reason is None and bool(missing)
    if prorated:
        flags.append("prorated")
    band = _band(instrument, total)
    return Score(
        instrument=instrument.id,
        total=total,
        scorable=reason is None,
        answered=len(present),
        items=len(instrument.items),
        missing_items=missing,
        prorated=prorated,
        reason=reason,
        severity=band[0] if band else None,
        severity_label=band[1] if band else None,
        case=instrument.caseness.is_case(total)
        if instrument.caseness and total is not None
        else None,
        subscales=_subscales(instrument, item_scores),
        flags=flags,
        risk=risk,
        item_scores=item_scores,
    )


def score_total(instrument: Instrument, total: float) -> Score:
    """A total recorded without its items (history from another system): the band and caseness
    follow from the total; item scores and risk flags cannot, so they stay empty."""
    low, high = total_range(instrument)
    if not low <= total <= high:
        raise InvalidAnswersError(f"{instrument.id} total {total:g} is outside {low:g}-{high:g}")
    band = _band(instrument, total)
    return Score(
        instrument=instrument.id,
        total=total,
        scorable=True,
        answered=0,
        items=len(instrument.items),
        missing_items=[i.id for i in instrument.items],
        prorated=False,
        reason=None,
        severity=band[0] if band else None,
        severity_label=band[1] if band else None,
        case=instrument.caseness.is_case(total) if instrument.caseness else None,
        subscales={},
        flags=["total_only"],
        risk=[],
        item_scores={},
    )


def _keyed(instrument: Instrument, reverse: bool, value: Answer) -> float | None:
    if value is None:
        return None
    if not reverse:
        return value
    flipped = (
        Decimal(str(instrument.min_value))
        + Decimal(str(instrument.max_value))
        - Decimal(str(value))
    )
    return _number(flipped, 4)


def _unscorable_reason(instrument: Instrument, n_missing: int) -> str | None:
    if n_missing == 0:
        return None
    n = len(instrument.items)
    if n_missing == n:
        return "no items answered"
    if instrument.missing_method == "none" or n_missing > instrument.max_missing:
        return f"{n_missing} of {n} items missing; at most {instrument.max_missing} may be missing"
    return None


def _total(instrument: Instrument, present: list[Decimal]) -> float:
    mean = sum(present, Decimal(0)) / len(present)
    raw = mean if instrument.scoring_method == "mean" else mean * len(instrument.items)
    return _number(raw, instrument.decimals)


def _number(value: Decimal, decimals: int) -> float:
    quantum = Decimal(1).scaleb(-decimals)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if decimals == 0 else float(rounded)


def _band(instrument: Instrument, total: float | None) -> tuple[str, str] | None:
    if total is None or not instrument.bands:
        return None
    chosen = instrument.bands[0]
    for band in instrument.bands:
        if total >= band.min:
            chosen = band
    return chosen.id, chosen.label


def _risk_flags(instrument: Instrument, keyed: Mapping[str, Answer]) -> list[RiskFlag]:
    flags = []
    for rule in instrument.risk_rules:
        value = keyed.get(rule.item)
        if value is not None and value >= rule.min_value:
            flags.append(RiskFlag(rule.flag, rule.item, value, rule.message))
    return flags


def _subscales(
    instrument: Instrument, item_scores: Mapping[str, float | None]
) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for sub_id, _label in instrument.subscales:
        values = [
            Decimal(str(item_scores[i.id]))
            for i in instrument.items
            if i.subscale == sub_id and item_scores[i.id] is not None
        ]
        if not values:
            result[sub_id] = None
            continue
        total = sum(values, Decimal(0))
        raw = total / len(values) if instrument.scoring_method == "mean" else total
        result[sub_id] = _number(
            raw, max(instrument.decimals, 2 if instrument.scoring_method == "mean" else 0)
        )
    return result


def total_range(instrument: Instrument) -> tuple[float, float]:
    """The smallest and largest possible totals."""
    n = 1 if instrument.scoring_method == "mean" else len(instrument.items)
    return instrument.min_value * n, instrument.max_value * n

"""Risk rules: an answer at or above an instrument's risk threshold, whatever the total."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from alliance.core.alerts.flags import Describe, Flagged, InstrumentRows, fmt
from alliance.core.alerts.frame import FloatArray
from alliance.core.alerts.types import Kind, Severity


def risk_flags(on: InstrumentRows) -> Iterator[Flagged]:
    """One flag per risk rule of the instrument (unscorable administrations included)."""
    items = on.frame.items
    ids = [i.id for i in on.instrument.items]
    for rule in on.instrument.risk_rules:
        position = ids.index(rule.item)
        if position >= items.shape[1]:
            continue
        values = items[:, position]
        with np.errstate(invalid="ignore"):
            mask = on.rows & (values >= rule.min_value)
        describe = _describe(on, f"item {position + 1}", rule.message, values)
        yield Flagged(Kind.RISK, rule.flag, Severity.SAFETY, mask, describe)


def _describe(on: InstrumentRows, item_label: str, message: str, values: FloatArray) -> Describe:
    labels = {o.value: o.label for o in on.instrument.options}

    def describe(row: int) -> tuple[str, dict[str, float]]:
        value = float(values[row])
        label = labels.get(int(value), "") if value.is_integer() else ""
        answer = f"{fmt(value)} ({label})" if label else fmt(value)
        text = f"{message}: {on.name} {item_label} answered {answer} at session {on.frame.session[row]}"
        return text, {"item_value": value}

    return describe

"""Formatting of rates and intervals for the outcomes pages (fractions shown as percentages)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.4237 -> "42%"; None -> "–"."""
    return "–" if value is None else f"{100 * value:.0f}%"


@register.filter
def rate_interval(rate: Any) -> str:
    """A core ``Rate`` (or shrunk rate) as "42% (95% CI 35–49%)"; "–" without a denominator."""
    if rate is None or rate.value is None:
        return "–"
    if rate.ci_low is None or rate.ci_high is None:
        return percent(rate.value)
    return f"{percent(rate.value)} ({percent(rate.ci_low)}–{percent(rate.ci_high)})"


@register.filter
def number(value: float | None, decimals: int = 1) -> str:
    """A rounded number, or "–" when there is none."""
    return "–" if value is None else f"{value:.{decimals}f}"

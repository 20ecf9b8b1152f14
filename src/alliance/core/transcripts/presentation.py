"""What every transcript report shows, decided once: code names and colours, level marks,
thresholds, and the metric table's rows with the utterances behind each number.

Why: the web page (a Django template) and the standalone report (:mod:`report`) lay them out
differently but must never say different things, so both render these rows and labels.
Plain data over the report dict (:meth:`SessionAnalysis.to_dict`), which the web app stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Timeline colours of the top-level codes, in legend order.
CODE_COLOURS = {
    "question": "#4e79a7",
    "reflection": "#59a14f",
    "therapist_input": "#f28e2b",
    "other": "#bab0ac",
    "change": "#76b7b2",
    "neutral": "#e0e0e0",
    "sustain": "#e15759",
}
#: How a metric compares with its published thresholds: (sign, words); no words for "info".
LEVELS = {
    "good": ("✔", "good"),
    "fair": ("~", "fair"),
    "below": ("✘", "below fair"),
    "info": ("", ""),
}


def code_name(code: str) -> str:
    """A code as people read it (``therapist_input`` -> ``therapist input``)."""
    return code.replace("_", " ")


def legend() -> list[tuple[str, str]]:
    """(name, colour) of every timeline code, in order."""
    return [(code_name(code), colour) for code, colour in CODE_COLOURS.items()]


def code_label(row: dict[str, Any]) -> str:
    """An utterance's code with its subtype, e.g. ``reflection (complex)``."""
    if row["role"] == "client":
        return str(row["client_talk"])
    sub = row["reflection"] or row["question"]
    return str(row["therapist_behaviour"]) + (f" ({sub})" if sub else "")


def level_mark(level: str) -> str:
    """``✔ good``, ``~ fair``, ``✘ below fair``, or nothing for a metric without thresholds."""
    return " ".join(LEVELS[level]).strip()


def threshold_text(metric: dict[str, Any]) -> str:
    """``fair 1 / good 2``, or a dash when no threshold is published."""
    if metric.get("fair") is None:
        return "—"
    return f"fair {metric['fair']:g} / good {metric['good']:g}"


@dataclass(frozen=True)
class Evidence:
    """One utterance behind a metric."""

    utterance_id: str
    speaker: str
    text: str
    code: str


@dataclass(frozen=True)
class MetricRow:
    """One row of the metric table: the value, its level and the utterances behind it."""

    name: str
    display: str
    level: str
    threshold: str
    citation: str
    count: int
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def words(self) -> str:
        return LEVELS[self.level][1]

    @property
    def mark(self) -> str:
        return level_mark(self.level)

    @property
    def more(self) -> int:
        """Utterances behind the number that are not quoted."""
        return self.count - len(self.evidence)


def metric_rows(report: dict[str, Any], evidence: int | None = None) -> list[MetricRow]:
    """The metric table of a report dict, quoting at most ``evidence`` utterances per metric."""
    by_id = {u["utterance_id"]: u for u in report["utterances"]}
    rows = []
    for m in report["metrics"]:
        ids = m.get("utterance_ids") or []
        quoted = [by_id[i] for i in ids[:evidence] if i in by_id]
        rows.append(
            MetricRow(
                name=m["name"],
                display=m["display"],
                level=m["level"],
                threshold=threshold_text(m),
                citation=m["citation"],
                count=len(ids),
                evidence=[
                    Evidence(u["utterance_id"], u["speaker"], u["text"], code_label(u))
                    for u in quoted
                ],
            )
        )
    return rows

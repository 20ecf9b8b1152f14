"""Session metrics with their published definitions and thresholds, and the utterances behind them.

Why: a number a counselor cannot trace back to what was said teaches nothing, so every metric
carries the ids of the utterances it counts.

Sources:
- MITI 4.2.1: Moyers, T. B., Manuel, J. K., & Ernst, D. (2014/2016). Motivational Interviewing
  Treatment Integrity Coding Manual 4.2.1. Summary scores R:Q = reflections / questions and
  %CR = complex reflections / all reflections; proficiency thresholds "fair" R:Q 1:1, %CR 40%,
  "good" R:Q 2:1, %CR 50%.
- %OQ is not a MITI 4 summary score; its thresholds come from MITI 3.1.1 (Moyers, Martin,
  Manuel, Miller & Ernst, 2010): beginning proficiency 50%, competency 70% open questions.
- % change talk = CT / (CT + ST), as in the MI process literature (e.g. Magill et al., 2014);
  no proficiency threshold is published, so it is reported without one.
- Empathy levels: EPITOME (Sharma, Miner, Atkins & Althoff, EMNLP 2020), 0 none / 1 weak /
  2 strong, for emotional reactions, interpretations and explorations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

MITI = "MITI 4.2.1 (Moyers, Manuel & Ernst 2016)"
MITI3 = "MITI 3.1.1 (Moyers, Martin, Manuel, Miller & Ernst 2010)"
EPITOME = "EPITOME (Sharma et al., EMNLP 2020)"
RQ_FAIR, RQ_GOOD = 1.0, 2.0
CR_FAIR, CR_GOOD = 0.40, 0.50
OQ_FAIR, OQ_GOOD = 0.50, 0.70


@dataclass
class Metric:
    """One session metric, its thresholds (if published) and the utterance ids behind it."""

    key: str
    name: str
    value: float | None
    display: str
    citation: str
    utterance_ids: list[str] = field(default_factory=list)
    fair: float | None = None
    good: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """'good', 'fair', 'below' against the thresholds, or 'info' when there are none."""
        if self.value is None or self.fair is None or self.good is None:
            return "info"
        if self.value >= self.good:
            return "good"
        return "fair" if self.value >= self.fair else "below"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "level": self.level}


def _pct(num: int, den: int) -> tuple[float | None, str]:
    return (num / den, f"{100 * num / den:.0f}% ({num}/{den})") if den else (None, "n/a")


def session_metrics(coded: list[dict[str, str]], research: bool = False) -> list[Metric]:
    """Metrics from per-utterance code dicts (keys: utterance_id, role, words, codes); the
    empathy metrics only with ``research`` (the research pack is on)."""

    def ids(**want: str) -> list[str]:
        return [c["utterance_id"] for c in coded if all(c.get(k) == v for k, v in want.items())]

    refl, ques = ids(therapist_behaviour="reflection"), ids(therapist_behaviour="question")
    cr, oq = ids(reflection="complex"), ids(question="open")
    change, sustain = ids(client_talk="change"), ids(client_talk="sustain")
    rq = len(refl) / len(ques) if ques else None
    cr_v, cr_s = _pct(len(cr), len(refl))
    oq_v, oq_s = _pct(len(oq), len(ques))
    ct_v, ct_s = _pct(len(change), len(change) + len(sustain))
    words = {
        r: sum(int(c["words"]) for c in coded if c["role"] == r) for r in ("counselor", "client")
    }
    talk_v, talk_s = _pct(words["counselor"], sum(words.values()))
    metrics = [
        Metric(
            "rq",
            "Reflection-to-question ratio (R:Q)",
            rq,
            f"{rq:.2f}:1 ({len(refl)}/{len(ques)})" if rq is not None else "n/a (no questions)",
            MITI,
            refl + ques,
            RQ_FAIR,
            RQ_GOOD,
        ),
        Metric("pct_cr", "% complex reflections", cr_v, cr_s, MITI, cr, CR_FAIR, CR_GOOD),
        Metric("pct_oq", "% open questions", oq_v, oq_s, MITI3, oq, OQ_FAIR, OQ_GOOD),
        Metric(
            "talk_share",
            "Counselor share of words spoken",
            talk_v,
            talk_s,
            "talk-time share (words; informational)",
            ids(role="counselor"),
        ),
        Metric(
            "pct_ct",
            "% client change talk, CT/(CT+ST)",
            ct_v,
            ct_s,
            "MI process research (Magill et al. 2014; informational)",
            change + sustain,
        ),
    ]
    return metrics + (_empathy_metrics(coded, ids) if research else [])


def _empathy_metrics(coded: list[dict[str, str]], ids: Callable[..., list[str]]) -> list[Metric]:
    """Share of counselor turns at EPITOME level 1-2, per mechanism (research pack)."""
    metrics = []
    for head, label in (
        ("emotional_reactions", "Emotional reactions"),
        ("interpretations", "Interpretations"),
        ("explorations", "Explorations"),
    ):
        counts = {lv: len(ids(**{head: lv})) for lv in ("0", "1", "2")}
        total = sum(counts.values())
        shown = [c["utterance_id"] for c in coded if c.get(head) in ("1", "2")]
        v, s = _pct(total - counts["0"], total)
        metrics.append(
            Metric(
                f"empathy_{head}",
                f"Empathy: {label} (level 1-2; research pack, non-commercial research only)",
                v,
                f"{s}; levels 0/1/2 = {counts['0']}/{counts['1']}/{counts['2']}",
                EPITOME,
                shown,
                detail={"levels": counts},
            )
        )
    return metrics

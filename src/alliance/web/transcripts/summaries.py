"""Skill metrics across sessions, for the client page and the supervisor's team view.

Only the numeric metrics are read here, so these views keep working after transcript text is
deleted under the clinic's policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, FloatField, OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from alliance.core import charts
from alliance.core.transcripts import metrics as skill_metrics
from alliance.web.transcripts.models import Transcript, TranscriptStatus

# Metric key, label, 'good' threshold (MITI), axis maximum, shown as percent.
CHARTED = (
    ("rq", "Reflection-to-question ratio", skill_metrics.RQ_GOOD, 4.0, False),
    ("pct_cr", "% complex reflections", skill_metrics.CR_GOOD, 1.0, True),
    ("pct_oq", "% open questions", skill_metrics.OQ_GOOD, 1.0, True),
)


@dataclass(frozen=True)
class SkillSeries:
    key: str
    label: str
    chart: str
    points: list[tuple[int, float]]
    percent: bool

    def value_at(self, session: int) -> float | None:
        return dict(self.points).get(session)


def analysed(queryset: Any) -> Any:
    return (
        queryset.filter(status=TranscriptStatus.DONE)
        .select_related("session")
        .order_by("session__number", "uploaded_at")
    )


def client_skill_series(episode: Any) -> tuple[list[int], list[SkillSeries]]:
    """Per-session skill metrics of the episode's analysed transcripts, charted; also the
    session numbers that have any, for a table whose columns line up."""
    latest: dict[int, dict[str, Any]] = {}
    for transcript in analysed(Transcript.objects.filter(session__episode=episode)):
        latest[transcript.session.number] = transcript.metrics  # the newest upload per session wins
    series = []
    for key, label, good, y_max, percent in CHARTED:
        points = [(n, float(m[key])) for n, m in sorted(latest.items()) if m.get(key) is not None]
        if points:
            top = max(y_max, max(v for _, v in points))
            chart = charts.skill_chart(f"skill-{key}", label, points, good, top)
            series.append(SkillSeries(key, label, chart, points, percent))
    return sorted(latest), series


@dataclass(frozen=True)
class CounselorSkills:
    sessions: int
    averages: dict[str, float | None]


NO_SKILLS = CounselorSkills(0, {key: None for key, *_ in CHARTED})


def counselor_skills(counselor_ids: Iterable[int]) -> dict[int, CounselorSkills]:
    """Average skill metrics over each counselor's analysed sessions (for supervision, not
    ranking), the newest analysed upload of a session counting once: one aggregate query for
    the whole team, so the team page reads one row per counselor, however many transcripts."""
    newest = (
        Transcript.objects.filter(session_id=OuterRef("session_id"), status=TranscriptStatus.DONE)
        .order_by("-uploaded_at", "-id")
        .values("pk")[:1]
    )
    averages = {
        key: Avg(Cast(KeyTextTransform(key, "metrics"), FloatField())) for key, *_ in CHARTED
    }
    rows = (
        Transcript.objects.filter(
            session__episode__client__counselor_id__in=list(counselor_ids),
            status=TranscriptStatus.DONE,
            pk=Subquery(newest),
        )
        .values("session__episode__client__counselor_id")
        .annotate(sessions=Count("pk"), **averages)
        .order_by()
    )
    return {
        row["session__episode__client__counselor_id"]: CounselorSkills(
            row["sessions"],
            {key: None if row[key] is None else round(float(row[key]), 2) for key, *_ in CHARTED},
        )
        for row in rows
    }

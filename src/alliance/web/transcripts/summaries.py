"""Skill metrics across sessions, for the client page and the supervisor's team view.

Only the numeric metrics are read here, so these views keep working after transcript text is
deleted under the clinic's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import Any

from alliance.core import charts
from alliance.core.transcripts import metrics as skill_metrics
from alliance.web.accounts.models import User
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


def newest_per_session(queryset: Any) -> dict[int, dict[str, Any]]:
    """Metrics of the newest analysed transcript of each session (re-uploads count once)."""
    latest: dict[int, dict[str, Any]] = {}
    for transcript in analysed(queryset):
        latest[transcript.session_id] = transcript.metrics
    return latest


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


def counselor_skills(counselor: User) -> CounselorSkills:
    """Average skill metrics over a counselor's analysed sessions (for supervision, not ranking)."""
    own = Transcript.objects.filter(session__episode__client__counselor=counselor)
    rows = list(newest_per_session(own).values())
    averages: dict[str, float | None] = {}
    for key, *_ in CHARTED:
        values = [float(m[key]) for m in rows if m.get(key) is not None]
        averages[key] = round(mean(values), 2) if values else None
    return CounselorSkills(len(rows), averages)

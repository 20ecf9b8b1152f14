"""What the outcomes page shows, computed by the core from the columns ``data.load`` read.

Every definition (change, recovery, rates and their intervals, the alliance -> outcome model,
shrinkage) is the core's; this module only picks the columns and arranges the results.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from alliance.core import charts
from alliance.core.instruments import Instrument
from alliance.core.outcomes import (
    PUBLISHED,
    AllianceOutcome,
    AllianceRows,
    Attendance,
    Dropout,
    Ending,
    EpisodeOutcome,
    NotEnoughData,
    Published,
    Rate,
    Satisfaction,
    Summary,
    TrajectoryPoint,
    alliance_outcome,
    attendance,
    dropout,
    episode_outcome,
    episode_outcomes,
    joint_outcome,
    mean_trajectory,
    satisfaction,
    summarise,
)
from alliance.core.outcomes_shrinkage import ShrunkRate, shrink_rates
from alliance.core.registry import Registry
from alliance.web.outcomes.data import Cohort

#: The end-of-treatment measure every discharge asks for.
SATISFACTION = "satisfaction_check"
#: The joint PHQ-9 + GAD-7 rule of the NHS Talking Therapies manual (its published rates use it).
JOINT_PARTS = ("phq9", "gad7")
#: The average trajectory leaves out session numbers scored in fewer episodes than this: the
#: late sessions of a few long episodes would end the line with noise.
TRAJECTORY_MIN_EPISODES = 5


@dataclass(frozen=True)
class RateRow:
    label: str
    rate: Rate
    published: Published | None = None


@dataclass(frozen=True)
class Counselor:
    """A member of staff whose clients the user may read."""

    username: str
    team_id: int | None
    team: str


@dataclass(frozen=True)
class CounselorRow:
    username: str
    team: str
    episodes: int
    paired: int
    improvement: ShrunkRate | None
    dropout: ShrunkRate | None


@dataclass(frozen=True)
class OutcomesReport:
    instrument: Instrument
    episodes: int
    summary: Summary
    rates: list[RateRow]
    joint: Summary | None
    joint_rates: list[RateRow]
    trajectory: list[TrajectoryPoint]
    chart: str
    attendance: Attendance
    dropout: Dropout
    satisfaction: Satisfaction
    alliance: AllianceOutcome | NotEnoughData | None
    counselors: list[CounselorRow]


def instruments_to_load(outcome: str, registry: Registry) -> list[str]:
    """The outcome measure (with its joint-rule partner), every alliance measure and the
    satisfaction check: the only administrations the page reads."""
    wanted = {outcome, SATISFACTION}
    if outcome in JOINT_PARTS:
        wanted |= set(JOINT_PARTS)
    wanted |= {i.id for i in registry.all() if i.alliance is not None}
    return sorted(wanted)


def build(
    cohort: Cohort,
    instrument: Instrument,
    registry: Registry,
    counselors: Mapping[int, Counselor] | None = None,
) -> OutcomesReport:
    """The page's numbers; ``counselors`` (by id) adds the per-counselor rows."""
    outcomes = _outcomes(cohort, instrument)
    summary = summarise(list(outcomes.values()), instrument.id)
    known = {instrument.id: outcomes}
    joint = _joint(cohort, registry, known) if instrument.id in JOINT_PARTS else None
    joint_summary = summarise(joint, joint[0].instrument) if joint else None
    sessions, totals = _columns(cohort, instrument.id)
    trajectory = mean_trajectory(sessions, totals, min_n=TRAJECTORY_MIN_EPISODES)
    points = [(p.session, p.mean, *_interval(p)) for p in trajectory]
    return OutcomesReport(
        instrument=instrument,
        episodes=len(cohort.episodes),
        summary=summary,
        rates=_rate_rows(summary, published=False),
        joint=joint_summary,
        joint_rates=_rate_rows(joint_summary, published=True) if joint_summary else [],
        trajectory=trajectory,
        chart=charts.mean_trajectory_chart("chart-trajectory", instrument, points),
        attendance=attendance([cohort.attended.get(e.pk, 0) for e in cohort.episodes]),
        dropout=dropout([Ending(e.ending) if e.ending else None for e in cohort.episodes]),
        satisfaction=_satisfaction(cohort, registry),
        alliance=_alliance(cohort, instrument, registry),
        counselors=_counselor_rows(cohort, outcomes, counselors) if counselors else [],
    )


def _outcomes(cohort: Cohort, instrument: Instrument) -> dict[int, EpisodeOutcome]:
    """Every episode's outcome on ``instrument`` (the core's vectorised pass over the scored
    ones; those without a score are unpaired)."""
    clients = {e.pk: e.client_id for e in cohort.episodes}
    columns: tuple[list[str], list[str], list[int], list[float]] = ([], [], [], [])
    for episode, rows in cohort.scores.get(instrument.id, {}).items():
        for number, total in rows:
            columns[0].append(str(clients[episode]))
            columns[1].append(str(episode))
            columns[2].append(number)
            columns[3].append(total)
    found = (
        {int(o.episode): o for o in episode_outcomes(instrument, *columns)} if columns[0] else {}
    )
    return {
        e.pk: found.get(e.pk) or episode_outcome(instrument, str(e.client_id), str(e.pk), [])
        for e in cohort.episodes
    }


def _joint(
    cohort: Cohort, registry: Registry, known: Mapping[str, dict[int, EpisodeOutcome]]
) -> list[EpisodeOutcome]:
    phq9, gad7 = (known.get(i) or _outcomes(cohort, registry.get(i)) for i in JOINT_PARTS)
    joint = (joint_outcome(phq9[e.pk], gad7[e.pk]) for e in cohort.episodes)
    return [j for j in joint if j is not None]


def _columns(cohort: Cohort, instrument: str) -> tuple[list[int], list[float]]:
    pairs = [p for rows in cohort.scores.get(instrument, {}).values() for p in rows]
    return [n for n, _ in pairs], [t for _, t in pairs]


def _interval(point: TrajectoryPoint) -> tuple[float, float]:
    low = point.ci_low if point.ci_low is not None else point.mean
    high = point.ci_high if point.ci_high is not None else point.mean
    return low, high


def _rate_rows(summary: Summary, *, published: bool) -> list[RateRow]:
    rows = [
        ("Reliable improvement", summary.reliable_improvement, "reliable_improvement"),
        ("Reliable deterioration", summary.reliable_deterioration, ""),
        ("Recovery", summary.recovery, "recovery"),
        ("Reliable recovery", summary.reliable_recovery, "reliable_recovery"),
    ]
    return [
        RateRow(label, rate, PUBLISHED.get(key) if published and key else None)
        for label, rate, key in rows
    ]


def _satisfaction(cohort: Cohort, registry: Registry) -> Satisfaction:
    """Each episode's latest satisfaction answer, over the episodes shown."""
    answers = cohort.scores.get(SATISFACTION, {})
    totals = [max(rows)[1] for rows in answers.values() if rows]
    return satisfaction(registry.get(SATISFACTION), totals, ended=len(cohort.episodes))


def _alliance(
    cohort: Cohort, outcome: Instrument, registry: Registry
) -> AllianceOutcome | NotEnoughData | None:
    """The model on the alliance measure the episodes answered most; None without any."""
    alliance_ids = [i.id for i in registry.all() if i.alliance is not None]
    counts = {a: len(cohort.scores.get(a, {})) for a in alliance_ids}
    chosen = max(alliance_ids, key=lambda a: counts[a], default=None)
    if chosen is None or counts[chosen] == 0:
        return None
    episode, session, alliance, score = [], [], [], []
    for e in cohort.episodes:
        rated = dict(cohort.of(chosen, e.pk))
        for number, total in cohort.of(outcome.id, e.pk):
            episode.append(e.pk)
            session.append(number)
            alliance.append(rated.get(number, math.nan))
            score.append(total)
    rows = AllianceRows(episode=episode, session=session, alliance=alliance, outcome=score)
    return alliance_outcome(rows, chosen, outcome.id)


def _counselor_rows(
    cohort: Cohort, outcomes: Mapping[int, EpisodeOutcome], staff: Mapping[int, Counselor]
) -> list[CounselorRow]:
    """Per counselor: reliable improvement among paired episodes and dropout among ended ones,
    each shrunk toward the rate of the counselor's team (``core.outcomes_shrinkage``)."""
    improved: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    left: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    episodes: dict[int, int] = defaultdict(int)
    for e in cohort.episodes:
        episodes[e.counselor_id] += 1
        outcome = outcomes[e.pk]
        if outcome.paired:
            improved[e.counselor_id][0] += outcome.reliably_improved
            improved[e.counselor_id][1] += 1
        if e.ending:
            left[e.counselor_id][0] += e.ending == Ending.UNPLANNED
            left[e.counselor_id][1] += 1
    teams: dict[int | None, list[int]] = defaultdict(list)
    for pk, counselor in staff.items():
        if episodes[pk]:
            teams[counselor.team_id].append(pk)
    improvement: dict[int, ShrunkRate] = {}
    dropped: dict[int, ShrunkRate] = {}
    for members in teams.values():
        improvement |= _shrunk({k: improved[k] for k in members})
        dropped |= _shrunk({k: left[k] for k in members})
    rows = [
        CounselorRow(
            username=staff[k].username,
            team=staff[k].team,
            episodes=episodes[k],
            paired=improved[k][1],
            improvement=improvement.get(k),
            dropout=dropped.get(k),
        )
        for members in teams.values()
        for k in members
    ]
    return sorted(rows, key=lambda r: (r.team, r.username))


def _shrunk(counts: Mapping[int, list[int]]) -> dict[int, ShrunkRate]:
    """One team's counselors' rates, shrunk toward the team's."""
    shrunk = shrink_rates({str(k): (c, n) for k, (c, n) in counts.items()})
    return {int(k): rate for k, rate in shrunk.rates.items()} if shrunk else {}

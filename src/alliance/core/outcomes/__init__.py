"""Outcomes of care for a set of episodes, and the alliance → outcome link in a clinic's own data.

Framework-free: the CLI (`alliance outcomes`) and the web app's outcomes page both call
`report` (or the pieces below) on plain rows. Definitions and sources: docs/outcomes.md.
"""

from alliance.core.outcomes.episodes import (
    JOINT,
    Ending,
    EpisodeOutcome,
    Score,
    episode_outcome,
    episode_outcomes,
    joint_outcome,
)
from alliance.core.outcomes.model import (
    MIN_EPISODES,
    MIN_PAIRS,
    AllianceOutcome,
    AllianceRows,
    Estimate,
    NotEnoughData,
    alliance_outcome,
    session_pairs,
)
from alliance.core.outcomes.published import PUBLISHED, Published
from alliance.core.outcomes.rates import Rate, rate, wilson
from alliance.core.outcomes.report import (
    EpisodeEnding,
    OutcomesReport,
    ScoreRows,
    alliance_rows,
    report,
)
from alliance.core.outcomes.summary import (
    Attendance,
    Dropout,
    Satisfaction,
    Summary,
    attendance,
    dropout,
    satisfaction,
    summarise,
)
from alliance.core.outcomes.trajectory import TrajectoryPoint, mean_trajectory

__all__ = [
    "JOINT",
    "MIN_EPISODES",
    "MIN_PAIRS",
    "PUBLISHED",
    "AllianceOutcome",
    "AllianceRows",
    "Attendance",
    "Dropout",
    "Ending",
    "EpisodeEnding",
    "EpisodeOutcome",
    "Estimate",
    "NotEnoughData",
    "OutcomesReport",
    "Published",
    "Rate",
    "Satisfaction",
    "Score",
    "ScoreRows",
    "Summary",
    "TrajectoryPoint",
    "alliance_outcome",
    "alliance_rows",
    "attendance",
    "dropout",
    "episode_outcome",
    "episode_outcomes",
    "joint_outcome",
    "mean_trajectory",
    "rate",
    "report",
    "satisfaction",
    "session_pairs",
    "summarise",
    "wilson",
]

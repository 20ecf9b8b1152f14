"""The outcomes page's rows, read as plain columns in a fixed number of queries.

Whatever the clinic's size or history, the page reads its episodes, their scored
administrations of the instruments it shows and their attended-session counts with one
``values_list`` query each (no per-episode queries), then hands the columns to the core.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from alliance.web.clinic.models import Administration, AdministrationStatus, Episode, Session


@dataclass(frozen=True)
class EpisodeRow:
    pk: int
    client_id: int
    counselor_id: int
    ending: str


@dataclass
class Cohort:
    """The episodes in scope and their scores: ``scores[instrument][episode]`` is a list of
    ``(session number, total)``; ``attended[episode]`` its attended sessions."""

    episodes: list[EpisodeRow]
    scores: dict[str, dict[int, list[tuple[int, float]]]] = field(default_factory=dict)
    attended: dict[int, int] = field(default_factory=dict)

    def of(self, instrument: str, episode: int) -> list[tuple[int, float]]:
        return self.scores.get(instrument, {}).get(episode, [])


def load(episodes: QuerySet[Episode], instruments: list[str]) -> Cohort:
    """Three queries: the episodes, their completed scores of ``instruments``, and their
    attended-session counts."""
    rows = [
        EpisodeRow(pk, client, counselor, ending or "")
        for pk, client, counselor, ending in episodes.order_by("pk").values_list(
            "pk", "client_id", "client__counselor_id", "ending"
        )
    ]
    ids = episodes.values("pk")
    scored = Administration.objects.filter(
        status=AdministrationStatus.COMPLETED,
        total__isnull=False,
        instrument__in=instruments,
        session__episode__in=ids,
        session__follow_up=False,  # after treatment: not an end-of-treatment score
    ).values_list("session__episode_id", "session__number", "instrument", "total")
    scores: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for episode, number, instrument, total in scored.order_by():
        scores[instrument][episode].append((number, float(total)))
    attended = (
        Session.objects.filter(episode__in=ids, status="attended")
        .order_by()
        .values("episode_id")
        .annotate(n=Count("pk"))
        .values_list("episode_id", "n")
    )
    return Cohort(episodes=rows, scores=scores, attended=dict(attended))

"""One core call per episode: findings that hold now, against the stored alerts, as actions.

``evaluate_episode`` applies "latest scored administration per instrument, plus every risk
answer" and the lifecycle; the vocabulary it speaks is the core's enums; a clinic's reference is
fitted once and reused.
"""

from __future__ import annotations

import math

from alliance.core.alerts import (
    SEVERITY_RANK,
    Kind,
    Observation,
    Severity,
    Status,
    Stored,
    Verb,
    alert_key,
    evaluate_client,
    evaluate_episode,
    fit_reference,
    from_observations,
    reference_fits,
)
from alliance.core.instruments import bundled_instruments

BELOW = alert_key("c1", Kind.ALLIANCE_RUPTURE, "alliance:below_cutoff", "alliance_check")
RISK9 = alert_key("c1", Kind.RISK, "risk:item9", "phq9")


def obs(session: int, instrument: str, total: float | None, **items: float) -> Observation:
    return Observation("c1", session, None, instrument, total, dict(items))


def verbs(actions: list) -> list[tuple[str, str, int | None]]:  # type: ignore[type-arg]
    return sorted((a.verb, a.key[2], a.finding.session if a.finding else None) for a in actions)


def test_latest_administration_per_instrument_plus_every_risk_answer() -> None:
    history = [
        obs(1, "phq9", 5, phq9_9=1),
        obs(1, "alliance_check", 4.8),
        obs(2, "alliance_check", 3.0),  # below the cutoff here, but not at the latest
        obs(3, "phq9", 6, phq9_9=2),
        obs(3, "alliance_check", 4.8),
    ]
    assert verbs(evaluate_episode(history, [])) == [
        (Verb.RAISE, "risk:item9", 1),
        (Verb.RAISE, "risk:item9", 3),
    ]


def test_a_condition_gone_at_the_latest_administration_resolves_its_alert() -> None:
    history = [obs(1, "alliance_check", 3.0), obs(2, "alliance_check", 4.8)]
    actions = evaluate_episode(history, [(BELOW, Stored(Status.OPEN, 1))])
    assert [(a.verb, a.key) for a in actions] == [(Verb.RESOLVE, BELOW)]


def test_an_unscorable_latest_administration_resolves_nothing() -> None:
    history = [obs(1, "alliance_check", 3.0), obs(2, "alliance_check", None)]
    actions = evaluate_episode(history, [(BELOW, Stored(Status.OPEN, 1))])
    assert verbs(actions) == [(Verb.UPDATE, "alliance:below_cutoff", 1)]


def test_the_newest_stored_alert_per_key_is_the_one_moved() -> None:
    history = [obs(1, "alliance_check", 3.0), obs(2, "alliance_check", 3.2)]
    stored = [(BELOW, Stored(Status.ACKNOWLEDGED, 1)), (BELOW, Stored(Status.RESOLVED, 1))]
    assert verbs(evaluate_episode(history, stored)) == [(Verb.RERAISE, "alliance:below_cutoff", 2)]


def test_stored_risk_answers_are_not_raised_again_whatever_their_status() -> None:
    history = [obs(1, "phq9", 5, phq9_9=1), obs(3, "phq9", 5, phq9_9=1)]
    stored = [(RISK9, Stored(Status.OPEN, 3)), (RISK9, Stored(Status.ACKNOWLEDGED, 1))]
    assert evaluate_episode(history, stored) == []
    assert verbs(evaluate_episode(history, stored[:1])) == [(Verb.RAISE, "risk:item9", 1)]


def test_the_vocabulary_compares_equal_to_the_stored_strings() -> None:
    assert Kind.ALLIANCE_RUPTURE == "alliance_rupture" and Kind.ALLIANCE_RUPTURE.label == (
        "Alliance rupture"
    )
    assert [s.label for s in Status] == ["Open", "Acknowledged", "Resolved"]
    assert sorted(["info", "safety", "warning"], key=SEVERITY_RANK.__getitem__) == list(Severity)
    finding = evaluate_client([obs(1, "phq9", 5, phq9_9=1)])[0]
    assert finding.key == RISK9 and finding.severity == Severity.SAFETY


def _completed(n: int) -> list[Observation]:
    return [
        Observation(f"r{e}", s, None, "phq9", 15 - 4 * math.log(s) + e % 3, {})
        for e in range(n)
        for s in range(1, 7)
    ]


def test_a_reference_is_fitted_once_and_judges_as_its_frame_does() -> None:
    frame = from_observations(_completed(60), bundled_instruments())
    before = reference_fits()
    reference = fit_reference(frame)
    assert reference_fits() == before + 1
    assert reference.episodes == 60 and reference.etr["phq9"].fitted_from == 60
    client = [obs(s, "phq9", t) for s, t in enumerate([15, 16, 17, 18], start=1)]
    assert evaluate_client(client, expected=reference) == evaluate_client(client, expected=frame)
    assert reference_fits() == before + 2  # the frame was fitted on the spot; the reference not
    flagged = evaluate_client(client, expected=reference)
    detail = next(f.detail for f in flagged if f.kind == Kind.NOT_ON_TRACK and f.session == 4)
    assert "fitted from 60 episodes" in detail

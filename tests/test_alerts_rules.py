"""Each alert rule at its edges, on the real instrument definitions."""

from __future__ import annotations

import math

import pytest

from alliance.core.alerts import (
    AlertConfig,
    Finding,
    Observation,
    evaluate_client,
    from_observations,
)
from alliance.core.alerts.expected import MIN_SD, default_parameters, fit_etr
from alliance.core.instruments import bundled_instruments


def series(
    instrument: str,
    totals: list[float | None],
    items: list[dict[str, float | None]] | None = None,
    client: str = "c1",
) -> list[Observation]:
    items = items or [{} for _ in totals]
    return [
        Observation(client, session, None, instrument, total, answers)
        for session, (total, answers) in enumerate(zip(totals, items, strict=True), start=1)
    ]


def rules_at(findings: list[Finding], session: int) -> set[str]:
    return {f.rule for f in findings if f.session == session}


def run(obs: list[Observation], **config: object) -> list[Finding]:
    return evaluate_client(obs, AlertConfig(**config))  # type: ignore[arg-type]


# -- risk -------------------------------------------------------------------------------
@pytest.mark.parametrize(("item9", "raised"), [(0, False), (1, True), (3, True)])
def test_risk_item9(item9: int, raised: bool) -> None:
    findings = run(series("phq9", [3], [{"phq9_9": item9}]))
    risk = [f for f in findings if f.kind == "risk"]
    assert bool(risk) is raised
    if raised:
        assert risk[0].severity == "safety" and risk[0].rule == "risk:item9"
        assert risk[0].numbers == {"item_value": float(item9)}


def test_risk_raised_even_when_unscorable() -> None:
    findings = run(series("phq9", [None], [{"phq9_9": 2}]))
    assert [f.kind for f in findings] == ["risk"]


def test_risk_reported_at_every_session_even_as_events() -> None:
    obs = series("phq9", [5, 5], [{"phq9_9": 1}, {"phq9_9": 1}])
    findings = evaluate_client(obs, events_only=True)
    assert [f.session for f in findings if f.kind == "risk"] == [1, 2]


# -- alliance ruptures ------------------------------------------------------------------
@pytest.mark.parametrize(("total", "fires"), [(4.0, False), (3.99, True), (3.8, True)])
def test_alliance_check_below_cutoff(total: float, fires: bool) -> None:
    findings = run(series("alliance_check", [4.4, total]))
    assert ("alliance:below_cutoff" in rules_at(findings, 2)) is fires


@pytest.mark.parametrize(("total", "fires"), [(36.0, False), (35.9, True)])
def test_srs_below_cutoff_36(total: float, fires: bool) -> None:
    findings = run(series("srs", [37.0, total]))
    assert ("alliance:below_cutoff" in rules_at(findings, 2)) is fires


@pytest.mark.parametrize(("after", "fires"), [(4.6 - 0.75, True), (3.9, False)])
def test_drop_from_previous_edge(after: float, fires: bool) -> None:
    findings = run(series("alliance_check", [4.6, round(after, 2)]))
    assert ("alliance:drop_from_previous" in rules_at(findings, 2)) is fires


def test_drop_from_running_mean_when_previous_drop_is_small() -> None:
    findings = run(series("alliance_check", [5.0, 5.0, 4.6, 4.0]))
    assert rules_at(findings, 4) == {"alliance:drop_from_mean"}
    finding = next(f for f in findings if f.rule == "alliance:drop_from_mean")
    assert math.isclose(finding.numbers["running_mean"], 14.6 / 3)


def test_srs_drop_threshold_four_points() -> None:
    assert "alliance:drop_from_previous" in rules_at(run(series("srs", [40.0, 36.0])), 2)
    assert "alliance:drop_from_previous" not in rules_at(run(series("srs", [40.0, 36.1])), 2)


@pytest.mark.parametrize(("goals", "fires"), [(1, True), (2, False), (None, False)])
def test_item_at_floor(goals: int | None, fires: bool) -> None:
    answers = {"ac_heard": 5, "ac_respect": 5, "ac_trust": 5, "ac_goals": goals, "ac_tasks": 5}
    findings = run(series("alliance_check", [4.5], [answers]))
    assert ("alliance:item_floor" in rules_at(findings, 1)) is fires


def test_ceiling_note_only_at_the_first_administration() -> None:
    findings = run(series("alliance_check", [5.0, 5.0]))
    notes = [f for f in findings if f.rule == "alliance:ceiling_at_intake"]
    assert [(n.session, n.severity) for n in notes] == [(1, "info")]
    assert not any(
        f.rule == "alliance:ceiling_at_intake" for f in run(series("alliance_check", [4.8, 5.0]))
    )


def test_alliance_alerts_carry_a_cited_suggestion() -> None:
    findings = run(series("alliance_check", [4.6, 3.6]))
    assert all(
        f.suggestion and "(" in f.suggestion for f in findings if f.kind == "alliance_rupture"
    )


# -- outcome ----------------------------------------------------------------------------
@pytest.mark.parametrize(("end", "fires"), [(16, True), (15, False)])
def test_reliable_deterioration_phq9(end: int, fires: bool) -> None:
    findings = run(series("phq9", [10, end]))
    assert ("deterioration:from_intake" in rules_at(findings, 2)) is fires


def test_reliable_deterioration_ors_is_a_fall() -> None:
    assert "deterioration:from_intake" in rules_at(run(series("ors", [30.0, 25.0])), 2)
    assert "deterioration:from_intake" not in rules_at(run(series("ors", [30.0, 35.0])), 2)


def test_no_reliable_change_by_session_n() -> None:
    totals = [15, 15, 14, 14, 13, 11]
    findings = run(series("phq9", totals), no_change_session=6)
    assert "no_change:by_session_6" in rules_at(findings, 6)
    assert not any(f.kind == "no_reliable_change" and f.session < 6 for f in findings)
    improved = run(series("phq9", [15, 15, 14, 14, 13, 9]), no_change_session=6)
    assert not any(f.kind == "no_reliable_change" for f in improved)
    not_a_case = run(series("phq9", [8, 8, 8, 8, 8, 8]), no_change_session=6)
    assert not any(f.kind == "no_reliable_change" for f in not_a_case)


def test_not_on_track_expected_response_band_edge() -> None:
    params = default_parameters("phq9")
    assert params is not None
    expected = 15 + params.a * math.log(3)
    bound = expected + 1.2816 * params.sd  # 17.05
    on = run(series("phq9", [15, 14, math.floor(bound)]))
    off = run(series("phq9", [15, 14, math.ceil(bound)]))
    assert "ntt:expected_response" not in rules_at(on, 3)
    finding = next(f for f in off if f.rule == "ntt:expected_response")
    assert finding.numbers["bound"] == round(bound, 2)


def test_not_on_track_waits_for_the_configured_session() -> None:
    findings = run(series("phq9", [15, 24]))
    assert not any(f.kind == "not_on_track" for f in findings)


def _synthetic_reference(a: float, b: float, n: int = 80) -> list[Observation]:
    obs = []
    for episode in range(n):
        intake = 10 + episode % 12
        for s in range(1, 9):
            total = intake + (a + b * (intake - 15)) * math.log(s)
            obs.append(Observation(f"r{episode}", s, None, "phq9", total, {}))
    return obs


def test_expected_response_is_fitted_from_enough_clinic_episodes() -> None:
    instruments = bundled_instruments()
    reference = from_observations(_synthetic_reference(-4.0, -0.3), instruments)
    params = fit_etr(reference, 0, min_episodes=50)
    assert params is not None
    # centred on the reference's mean intake, the slope at intake c is a + b * (c - 15)
    assert params.fitted_from == 80 and math.isclose(params.b, -0.3, abs_tol=1e-9)
    assert math.isclose(params.a, -4.0 - 0.3 * (params.centre - 15), abs_tol=1e-9)
    assert params.sd == MIN_SD  # exact synthetic data: the floor, not a zero-width band
    assert fit_etr(reference, 0, min_episodes=81) is None


def test_nearest_neighbour_method_flags_the_worse_than_similar_clients() -> None:
    instruments = bundled_instruments()
    reference = from_observations(_synthetic_reference(-4.0, 0.0), instruments)
    target = series("phq9", [15, 13, 17], client="t")
    findings = evaluate_client(
        target, AlertConfig(ntt_method="nn", neighbours=10), expected=reference
    )
    assert "ntt:nearest_neighbours" in rules_at(findings, 3)
    on_track = series("phq9", [15, 12, 10], client="t")
    findings = evaluate_client(
        on_track, AlertConfig(ntt_method="nn", neighbours=10), expected=reference
    )
    assert not any(f.kind == "not_on_track" for f in findings)


# -- events -----------------------------------------------------------------------------
def test_events_report_where_a_condition_starts_and_recurs() -> None:
    obs = series("alliance_check", [3.5, 3.5, 4.5, 3.5])
    events = evaluate_client(obs, events_only=True)
    assert [f.session for f in events if f.rule == "alliance:below_cutoff"] == [1, 4]
    every = evaluate_client(obs)
    assert [f.session for f in every if f.rule == "alliance:below_cutoff"] == [1, 2, 4]


def test_clients_are_kept_apart() -> None:
    obs = series("alliance_check", [4.8], client="a") + series("alliance_check", [3.0], client="b")
    findings = evaluate_client(obs)
    assert {f.client_id for f in findings if f.rule == "alliance:drop_from_previous"} == set()
    assert {f.client_id for f in findings if f.rule == "alliance:below_cutoff"} == {"b"}


def test_intake_only_episodes_do_not_count_towards_a_fit() -> None:
    instruments = bundled_instruments()
    single = [Observation(f"r{i}", 1, None, "phq9", 15.0, {}) for i in range(80)]
    assert fit_etr(from_observations(single, instruments), 0, min_episodes=50) is None

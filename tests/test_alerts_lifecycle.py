"""Alert lifecycle: raise, update, resolve, re-raise; risk never resolves by itself."""

from __future__ import annotations

from alliance.core.alerts import Finding, Stored, plan_lifecycle


def finding(kind: str, rule: str, session: int = 3, instrument: str = "alliance_check") -> Finding:
    return Finding("c1", kind, rule, session, instrument, "detail", {}, "warning")


BELOW = ("c1", "alliance_rupture", "alliance:below_cutoff", "alliance_check")
RISK = ("c1", "risk", "risk:item9", "phq9")


def test_new_condition_raises() -> None:
    actions = plan_lifecycle({}, [finding("alliance_rupture", "alliance:below_cutoff")])
    assert [(a.verb, a.key) for a in actions] == [("raise", BELOW)]


def test_condition_still_holding_updates_open_or_acknowledged() -> None:
    for status in ("open", "acknowledged"):
        actions = plan_lifecycle(
            {BELOW: Stored(status, 3)}, [finding("alliance_rupture", "alliance:below_cutoff")]
        )
        assert [a.verb for a in actions] == ["update"]


def test_condition_gone_resolves() -> None:
    assert [(a.verb, a.key) for a in plan_lifecycle({BELOW: Stored("open", 3)}, [])] == [
        ("resolve", BELOW)
    ]


def test_resolved_alert_is_reraised_when_the_condition_recurs() -> None:
    actions = plan_lifecycle(
        {BELOW: Stored("resolved", 3)}, [finding("alliance_rupture", "alliance:below_cutoff", 7)]
    )
    assert [a.verb for a in actions] == ["reraise"]
    assert actions[0].finding is not None and actions[0].finding.session == 7


def test_risk_alerts_are_never_resolved_automatically() -> None:
    assert plan_lifecycle({RISK: Stored("open", 3)}, []) == []
    assert plan_lifecycle({RISK: Stored("acknowledged", 3)}, []) == []


def _risk(session: int) -> Finding:
    return Finding("c1", "risk", "risk:item9", session, "phq9", "detail", {}, "safety")


def test_every_risk_answer_raises_once_whatever_the_session_order() -> None:
    recorded = [(RISK, 3)]
    assert plan_lifecycle({RISK: Stored("acknowledged", 3)}, [_risk(3)], recorded) == []
    later = plan_lifecycle({RISK: Stored("acknowledged", 3)}, [_risk(3), _risk(5)], recorded)
    assert [(a.verb, a.finding.session if a.finding else None) for a in later] == [("raise", 5)]
    earlier = plan_lifecycle({RISK: Stored("open", 3)}, [_risk(1), _risk(3)], recorded)
    assert [(a.verb, a.finding.session if a.finding else None) for a in earlier] == [("raise", 1)]


def test_latest_finding_per_key_wins() -> None:
    actions = plan_lifecycle(
        {}, [finding("alliance_rupture", "alliance:below_cutoff", s) for s in (2, 5, 4)]
    )
    assert len(actions) == 1 and actions[0].finding is not None and actions[0].finding.session == 5

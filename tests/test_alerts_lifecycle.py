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


def test_a_later_risk_answer_after_acknowledgement_raises_a_new_alert() -> None:
    later = Finding("c1", "risk", "risk:item9", 5, "phq9", "detail", {}, "safety")
    assert [a.verb for a in plan_lifecycle({RISK: Stored("acknowledged", 3)}, [later])] == ["raise"]
    same = Finding("c1", "risk", "risk:item9", 3, "phq9", "detail", {}, "safety")
    assert [a.verb for a in plan_lifecycle({RISK: Stored("acknowledged", 3)}, [same])] == ["update"]
    assert [a.verb for a in plan_lifecycle({RISK: Stored("open", 3)}, [later])] == ["update"]


def test_latest_finding_per_key_wins() -> None:
    actions = plan_lifecycle(
        {}, [finding("alliance_rupture", "alliance:below_cutoff", s) for s in (2, 5, 4)]
    )
    assert len(actions) == 1 and actions[0].finding is not None and actions[0].finding.session == 5

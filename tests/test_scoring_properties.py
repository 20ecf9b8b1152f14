"""Property tests: for any valid answers, totals stay in range and scoring is deterministic."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.core.instruments import Instrument, bundled_instruments
from alliance.core.scoring import Answer, score, total_range

INSTRUMENTS = bundled_instruments()


def _answer(instrument: Instrument) -> st.SearchStrategy[Answer]:
    if instrument.response_range is not None:
        r = instrument.response_range
        steps = round((r.max - r.min) / r.step)
        value = st.integers(0, steps).map(
            lambda k: float(Decimal(str(r.min)) + k * Decimal(str(r.step)))
        )
    else:
        value = st.sampled_from([o.value for o in instrument.options])
    return st.one_of(st.none(), value) if instrument.max_missing else value


@st.composite
def administrations(draw: st.DrawFn) -> tuple[Instrument, list[Answer]]:
    instrument = draw(st.sampled_from(list(INSTRUMENTS.values())))
    answers = draw(
        st.lists(
            _answer(instrument), min_size=len(instrument.items), max_size=len(instrument.items)
        )
    )
    return instrument, answers


@settings(max_examples=400, deadline=None)
@given(administrations())
def test_totals_stay_in_range_and_are_deterministic(case: tuple[Instrument, list[Answer]]) -> None:
    instrument, answers = case
    first, second = score(instrument, answers), score(instrument, list(answers))
    assert first == second
    low, high = total_range(instrument)
    if first.scorable:
        assert first.total is not None and low <= first.total <= high
        assert first.severity is None or first.severity in {b.id for b in instrument.bands}
        for value in first.subscales.values():
            assert value is None or instrument.min_value * len(instrument.items) >= 0
    else:
        assert first.total is None and first.severity is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_total_is_the_item_sum_when_complete(answers: list[int]) -> None:
    result = score(INSTRUMENTS["phq9"], answers)
    assert result.total == sum(answers)
    assert ("risk:item9" in result.flags) is (answers[8] > 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9), st.integers(0, 8))
def test_raising_one_answer_never_lowers_the_phq9_total(answers: list[int], index: int) -> None:
    before = score(INSTRUMENTS["phq9"], answers).total
    raised = list(answers)
    raised[index] = min(3, raised[index] + 1)
    after = score(INSTRUMENTS["phq9"], raised).total
    assert before is not None and after is not None and after >= before

"""Coding, metrics and reports on small fixtures with the shipped models (no training)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.core.errors import AllianceError
from alliance.core.transcripts import coding, report
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.empathy import score_pairs
from alliance.core.transcripts.encoder import get_encoder, threads_from_environment
from alliance.core.transcripts.metrics import session_metrics
from alliance.core.transcripts.model import Transcript, TranscriptError, Utterance
from alliance.core.transcripts.readers import read_transcript, read_transcripts
from alliance.core.transcripts.roles import infer_counselor

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
DATASETS = Path(
    os.environ.get(
        "ALLIANCE_DATASETS", Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
    )
)


def test_encoder_gives_unit_vectors_independent_of_batch_order() -> None:
    enc = get_encoder()
    texts = ["What brings you here today?", "I want to drink less, but it's hard at night."]
    a, b = enc.encode(texts), enc.encode(texts[::-1])
    assert a.shape == (2, 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert np.allclose(a, b[::-1], atol=1e-4)
    assert enc.encode([]).shape == (0, 384)


def test_hashed_features_are_stable() -> None:
    idx, val = coding.hashed(coding.text_grams("How are you?", "I'm tired.", False))
    assert idx.max() < coding.N_BUCKETS
    assert abs(float(np.linalg.norm(val)) - 1.0) < 1e-5
    assert zip_hash("how") == 2508312701 & (coding.N_BUCKETS - 1)


def zip_hash(s: str) -> int:
    import zlib

    return zlib.crc32(s.encode()) & (coding.N_BUCKETS - 1)


def test_head_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    head = coding.Head(
        "question",
        ("open", "closed"),
        rng.normal(size=(2, coding.DENSE_DIM)),
        rng.normal(size=(2, coding.N_BUCKETS)),
        np.zeros(2),
    )
    head.save(tmp_path / "question.npz")
    loaded = coding.Head.load(tmp_path / "question.npz")
    ctx = coding.dialogue_context(["hi?", "ok"], ["a", "b"], np.eye(2, 384, dtype=np.float32))
    p1, p2 = head.predict_proba(ctx, np.arange(2)), loaded.predict_proba(ctx, np.arange(2))
    assert loaded.labels == ("open", "closed")
    assert np.allclose(p1, p2, atol=0.05)
    assert np.allclose(p2.sum(axis=1), 1.0)


def test_analysis_codes_by_role_with_probabilities() -> None:
    a = analyze_transcript(read_transcript(FIXTURES / "zoom.vtt"), research=True)
    assert [r["role"] for r in a.rows] == ["counselor", "client"] * 2 + ["counselor"]
    for r in a.rows:
        if r["role"] == "counselor":
            assert r["therapist_behaviour"] in coding.HEADS["therapist_behaviour"]
            assert 0 < r["therapist_behaviour_p"] <= 1
            assert r["client_talk"] == ""
            for h in coding.EMPATHY_HEADS:
                assert r[h] in ("0", "1", "2")
        else:
            assert r["client_talk"] in ("change", "neutral", "sustain")
            assert r["therapist_behaviour"] == "" and r["emotional_reactions"] == ""
        assert (r["reflection"] == "") or r["therapist_behaviour"] == "reflection"
    assert a.rows[0]["therapist_behaviour"] == "question"
    assert a.rows[-1]["question"] == "open"
    assert a.mi_quality in ("high", "low")


def test_research_pack_off_by_default_same_mi_codes() -> None:
    """Off (the default): no empathy column or metric; the MI codes and MI-quality estimate
    are the same as with the pack on (they never use the empathy codes)."""
    off = analyze_transcript(read_transcript(FIXTURES / "zoom.vtt"))
    on = analyze_transcript(read_transcript(FIXTURES / "zoom.vtt"), research=True)
    assert not off.research and off.code_columns == (
        "therapist_behaviour",
        "reflection",
        "question",
        "client_talk",
    )
    assert not any(set(coding.EMPATHY_HEADS) & set(r) for r in off.rows)
    assert not any(m.key.startswith("empathy_") for m in off.metrics)
    assert "alliance models enable research" in off.to_dict()["packs_note"]
    for a, b in zip(off.rows, on.rows, strict=True):
        assert a["therapist_behaviour"] == b["therapist_behaviour"]
    assert off.mi_quality_probability == on.mi_quality_probability
    assert len([m for m in on.metrics if m.key.startswith("empathy_")]) == 3


def test_metrics_carry_the_utterances_behind_them() -> None:
    rows = [
        {
            "utterance_id": "0",
            "role": "counselor",
            "words": 5,
            "therapist_behaviour": "question",
            "question": "open",
        },
        {"utterance_id": "1", "role": "client", "words": 10, "client_talk": "change"},
        {
            "utterance_id": "2",
            "role": "counselor",
            "words": 5,
            "therapist_behaviour": "reflection",
            "reflection": "complex",
        },
        {
            "utterance_id": "3",
            "role": "counselor",
            "words": 5,
            "therapist_behaviour": "reflection",
            "reflection": "simple",
        },
        {"utterance_id": "4", "role": "client", "words": 5, "client_talk": "sustain"},
    ]
    m = {x.key: x for x in session_metrics(rows)}
    assert m["rq"].value == 2.0 and m["rq"].level == "good"
    assert m["rq"].utterance_ids == ["2", "3", "0"]
    assert m["pct_cr"].value == 0.5 and m["pct_cr"].utterance_ids == ["2"]
    assert m["pct_oq"].value == 1.0
    assert m["pct_ct"].value == 0.5 and m["pct_ct"].level == "info"
    assert m["talk_share"].value == pytest.approx(15 / 30)


def test_reports_render() -> None:
    a = analyze_transcript(read_transcript(FIXTURES / "teams.vtt"))
    assert "Reflection-to-question ratio" in report.to_text(a)
    doc = a.to_dict()
    assert doc["utterances"][0]["speaker"] == "Dana Reyes"
    page = report.to_html(a)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "http" not in page.split("<body>")[1].replace("http-equiv", "")
    fragment = report.to_html(a, full_page=False)
    assert fragment.startswith('<div class="al-report">')
    rows = report.utterance_rows(a)
    assert {*report.ID_COLUMNS, *a.code_columns} == {k for k in rows[0] if not k.endswith("_p")}


def test_single_speaker_transcript_is_all_counselor() -> None:
    a = analyze_transcript(read_transcript(FIXTURES / "one_speaker.txt"))
    assert {r["role"] for r in a.rows} == {"counselor"}
    assert any("one speaker" in w for w in a.warnings)


def test_empathy_pairs() -> None:
    rows = [
        {"seeker_post": "I feel so alone.", "response_post": "That sounds painful. What happened?"}
    ]
    out = score_pairs(rows, research=True)
    assert out[0]["explorations"] in ("0", "1", "2")
    assert 0 < float(out[0]["emotional_reactions_p"]) <= 1
    with pytest.raises(TranscriptError, match="lacks"):
        score_pairs([{"post": "x"}], research=True)
    with pytest.raises(TranscriptError, match="research pack"):
        score_pairs(rows)


@pytest.mark.skipif(not (DATASETS / "annomi").exists(), reason="shared datasets missing")
def test_role_inference_accuracy_on_annomi() -> None:
    ts = read_transcripts(DATASETS / "annomi" / "AnnoMI-simple.csv")
    ok = sum(infer_counselor(t) == "therapist" for t in ts)
    assert ok / len(ts) >= 0.95


def test_shipped_models_fit_the_budget_and_cards_carry_licences() -> None:
    from alliance.core.transcripts.cards import load_cards
    from alliance.core.transcripts.packs import MODELS_DIR, PACKS

    total = sum(p.stat().st_size for p in MODELS_DIR.rglob("*") if p.is_file())
    assert total <= 30 * 1024 * 1024
    assert not list(MODELS_DIR.rglob("*.pkl")) and not list(MODELS_DIR.rglob("*.pickle"))
    cards = {c["name"]: c for c in load_cards()}
    assert set(coding.HEADS) | {"mi_quality", "minilm-l6-q8"} <= set(cards)
    for name in coding.EMPATHY_HEADS:
        assert cards[name]["pack"] == "research" and "NON-COMMERCIAL" in cards[name]["license"]
        assert (PACKS["research"].directory / f"{name}.npz").exists()
    for card in cards.values():  # nothing in the default pack carries non-commercial terms
        if card["pack"] == "default":
            terms = card["license"].lower()
            assert "commercial" not in terms and "academic" not in terms, card["name"]


def test_speaker_means_group_by_key() -> None:
    emb = np.array([[1.0, 0], [0, 1.0], [3.0, 0]], dtype=np.float32)
    out = coding.speaker_means(emb, ["a", "b", "a"])
    assert np.allclose(out[0], [2.0, 0]) and np.allclose(out[2], [2.0, 0])
    assert np.allclose(out[1], [0, 1.0])


def test_repeated_texts_are_encoded_once_with_the_same_vector() -> None:
    enc = get_encoder()
    vecs = enc.encode(["Yeah.", "I see.", "Yeah.", ""])
    assert np.allclose(vecs[0], vecs[2])
    assert vecs.shape == (4, 384)


_utterance = st.tuples(st.sampled_from(["A", "B", "C"]), st.text(max_size=60))


@settings(max_examples=25, deadline=None)
@given(turns=st.lists(_utterance, min_size=1, max_size=12))
def test_fuzz_analysis_never_crashes(turns: list[tuple[str, str]]) -> None:
    utts = [Utterance(str(i), s, t) for i, (s, t) in enumerate(turns)]
    a = analyze_transcript(Transcript("fuzz", utts))
    assert len(a.rows) == len(turns)
    assert report.to_html(a, full_page=False)
    assert all(m.value is None or m.value >= 0 for m in a.metrics)


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5", "٣", "999"])
def test_a_bad_thread_count_names_the_variable(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLIANCE_THREADS", raw)
    with pytest.raises(AllianceError, match="ALLIANCE_THREADS must be a whole number"):
        threads_from_environment()


def test_the_thread_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLIANCE_THREADS", raising=False)
    assert threads_from_environment() == 0
    monkeypatch.setenv("ALLIANCE_THREADS", " 3 ")
    assert threads_from_environment() == 3

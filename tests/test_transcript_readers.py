"""Readers: every supported format, format detection, roles, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.core.transcripts import readers
from alliance.core.transcripts.checkfile import summarise
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.readers import detect_format, read_transcript, read_transcripts
from alliance.core.transcripts.roles import assign_roles, infer_counselor, match_speaker

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"


@pytest.mark.parametrize(
    ("name", "fmt", "n_utts", "first_speaker"),
    [
        ("zoom.vtt", "vtt", 5, "Dana Reyes"),
        ("teams.vtt", "vtt", 4, "Dana Reyes"),
        ("session.srt", "srt", 4, "Counselor"),
        ("session.txt", "text", 5, "Counselor"),
        ("session.json", "json", 4, "Alex"),
    ],
)
def test_reads_each_format(name: str, fmt: str, n_utts: int, first_speaker: str) -> None:
    t = read_transcript(FIXTURES / name)
    assert t.source_format == fmt
    assert len(t.utterances) == n_utts
    assert t.utterances[0].speaker == first_speaker
    assert all(u.text for u in t.utterances)
    assert not t.warnings


def test_zoom_merges_consecutive_cues_of_one_speaker() -> None:
    t = read_transcript(FIXTURES / "zoom.vtt")
    second = t.utterances[1]
    assert second.speaker == "Sam Lee"
    assert second.text.endswith("My wife is worried about it.")
    assert (second.start, second.end) == (5.0, 11.0)


def test_teams_voice_tags_are_stripped() -> None:
    t = read_transcript(FIXTURES / "teams.vtt")
    assert "<v" not in t.utterances[0].text and "</v>" not in t.utterances[0].text


def test_text_continuation_lines_join_the_previous_turn() -> None:
    t = read_transcript(FIXTURES / "session.txt")
    assert t.utterances[1].text.endswith("both of us shouting.")


def test_annomi_csv_holds_many_transcripts_with_roles() -> None:
    ts = read_transcripts(FIXTURES / "annomi_small.csv")
    assert [t.transcript_id for t in ts] == ["t1", "t2"]
    assert all(t.roles_given for t in ts)
    assert ts[0].utterances[0].role == "counselor"
    with pytest.raises(TranscriptError, match="one transcript"):
        read_transcript(FIXTURES / "annomi_small.csv")


def test_format_can_be_overridden() -> None:
    text = "Counselor: How are you?\nClient: Fine.\n"
    assert detect_format(text) == "text"
    with pytest.raises(TranscriptError):
        read_transcripts(text, format="vtt")
    with pytest.raises(TranscriptError, match="unknown format"):
        read_transcripts(text, format="docx")


def test_malformed_vtt_cue_is_skipped_with_warning() -> None:
    t = read_transcript(FIXTURES / "malformed.vtt")
    assert len(t.utterances) == 2
    assert any("malformed" in w for w in t.warnings)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", "empty"),
        ("binary.bin", "binary"),
        ("unknown.txt", "unknown format"),
        ("does-not-exist.vtt", "cannot read"),
    ],
)
def test_bad_files_raise_clear_errors(name: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        read_transcripts(FIXTURES / name)


def test_wrong_encoding_is_read_with_a_warning() -> None:
    t = read_transcript(FIXTURES / "cp1252.txt")
    assert "Qué" in t.utterances[0].text
    assert any("UTF-8" in w for w in t.warnings)


def test_utf16_is_decoded() -> None:
    text, warnings = readers.decode_bytes("Counselor: Hi?\nClient: Hello.\n".encode("utf-16"))
    assert text.startswith("Counselor") and not warnings


def test_one_speaker_warns() -> None:
    t = read_transcript(FIXTURES / "one_speaker.txt")
    assert any("one speaker" in w for w in t.warnings)


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Counselor: hello there?\n" * 2000)
    monkeypatch.setattr(readers, "MAX_BYTES", 1000)
    with pytest.raises(TranscriptError, match="limit"):
        read_transcripts(big)


def test_roles_inferred_and_overridable() -> None:
    t = read_transcript(FIXTURES / "zoom.vtt")
    assert infer_counselor(t) == "Dana Reyes"
    assign_roles(t, counselor="sam lee")
    assert t.utterances[0].role == "client"
    with pytest.raises(TranscriptError, match="no speaker named"):
        assign_roles(t, counselor="Nobody")


def test_the_counselor_is_named_regardless_of_case_and_spacing() -> None:
    """One rule for ``--counselor`` and the upload form: case and runs of spaces do not
    matter, and the name comes back as the transcript spells it."""
    t = read_transcript(FIXTURES / "zoom.vtt")
    assert match_speaker(t.speakers, "  dana   REYES ") == "Dana Reyes"
    assign_roles(t, counselor="  SAM\tlee ")
    assert [u.role for u in t.utterances[:2]] == ["client", "counselor"]
    with pytest.raises(TranscriptError) as err:
        match_speaker(t.speakers, "Dana  Rey")
    assert str(err.value) == (
        "no speaker named 'Dana Rey' in this transcript; its speakers: Dana Reyes, Sam Lee"
    )


def test_the_upload_check_returns_the_decoded_text_so_it_is_read_once() -> None:
    """The server stores the text the upload check decoded (it never decodes it again)."""
    text = "Dana: Wie geht's, Jürgen?\nSam: Gut.\n"
    found = summarise(text.encode("utf-16"))
    assert (found["text"], found["format"], found["speakers"]) == (text, "text", ["Dana", "Sam"])


def test_role_words_as_speaker_names_give_roles() -> None:
    t = assign_roles(read_transcript(FIXTURES / "session.srt"))
    assert [u.role for u in t.utterances[:2]] == ["counselor", "client"]


_lines = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "WEBVTT",
                "",
                "1",
                "00:00:01.000 --> 00:00:02.000",
                "00:00:01,000 --> 00:00:02,000",
                "Dana: hi?",
                "<v Sam>ok</v>",
                "NOTE x",
                "{",
                "[",
                "transcript_id,utterance_id,interlocutor,utterance_text",
                '"unclosed',
                "00:xx --> 1",
            ]
        ),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines, fmt=st.sampled_from([None, *readers.FORMATS]))
def test_fuzz_readers_only_raise_clean_errors(lines: list[str], fmt: str | None) -> None:
    text = "\n".join(lines)
    try:
        for t in read_transcripts(text, format=fmt):
            assert t.utterances
            assign_roles(t)
    except TranscriptError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_bytes_only_raise_clean_errors(data: bytes) -> None:
    try:
        text, _ = readers.decode_bytes(data)
        read_transcripts(text)
    except TranscriptError:
        pass


def test_file_over_the_real_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.vtt"
    with big.open("wb") as f:
        f.truncate(readers.MAX_BYTES + 1)
    with pytest.raises(TranscriptError, match="MB"):
        read_transcripts(big)

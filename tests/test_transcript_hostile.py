"""Hostile transcript files: each is read (or refused with a clear error) promptly.

Every case runs the reader in a child process that is killed after ``CHILD_SECONDS``; the
readers used to take minutes to hours on these inputs (quadratic patterns and string joins),
so the limit separates "linear" from "quadratic" by orders of magnitude and is not a timing
assertion. The speed itself is measured by ``benchmarks/transcripts_hostile.py``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import Any

import pytest

from alliance.core.transcripts import readers

CHILD_SECONDS = 20
CHILD = """
import json, sys
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.readers import decode_bytes, read_transcripts
try:
    text, _ = decode_bytes(sys.stdin.buffer.read())
    found = read_transcripts(text)
    print(json.dumps({"utterances": [len(t.utterances) for t in found],
                      "speakers": found[0].speakers, "text": found[0].utterances[0].text[:40]}))
except TranscriptError as exc:
    print(json.dumps({"error": str(exc)}))
"""
CUE = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"


def read_in_child(data: bytes) -> dict[str, Any]:
    """The reader's verdict, from a child process that must finish within the limit."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=data,
            capture_output=True,
            timeout=CHILD_SECONDS,
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading took more than {CHILD_SECONDS} s: a pattern or join is not linear")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def cue_of_lines(line: str, count: int) -> bytes:
    """One WebVTT cue holding ``count`` lines (each under the line limit)."""
    return (CUE + "\n".join([line] * count) + "\n").encode()


@pytest.mark.parametrize(
    ("name", "data", "first_text"),
    [
        # 480 KB of '<' in one cue: the tag pattern scanned to the end from every '<'.
        ("run of <", cue_of_lines("<" * 16_000, 30), "<" * 40),
        # Unclosed voice tags: the voice pattern did the same from every '<v'.
        ("unclosed <v", cue_of_lines("<v a" * 4_000, 30), "<v a<v a"),
        # '<v' then spaces: the voice pattern tried every split of the spaces.
        ("<v and spaces", cue_of_lines("<v" + " " * 15_998, 30), "<v"),
    ],
)
def test_pathological_tags_are_read_in_linear_time(name: str, data: bytes, first_text: str) -> None:
    found = read_in_child(data)
    assert found.get("utterances") == [1], found
    assert found["text"].startswith(first_text.strip()[:40])


def test_one_speakers_long_monologue_is_merged_in_linear_time() -> None:
    # 4 MB of one-word cues of one speaker: each join used to copy the growing turn (a guard:
    # memcpy made that quadratic cost about 17 s here, just inside the limit).
    data = ("Sam: w\n" * 600_000 + "Dana: ok\n").encode()
    assert read_in_child(data)["utterances"] == [2]


def test_many_continuation_lines_are_joined_in_linear_time() -> None:
    data = ("Sam: hello\n" + "w\n" * 1_000_000 + "Dana: ok\n").encode()
    assert read_in_child(data)["utterances"] == [2]


def test_a_line_over_the_limit_is_refused_with_a_clear_error() -> None:
    found = read_in_child((CUE + "<" * 400_000 + "\n").encode())
    assert found["error"] == (
        "line 4 is 400,000 characters long; the limit is 20,000 characters per line "
        "(is this a transcript?)"
    )


def test_a_line_at_the_limit_is_read() -> None:
    words = ("word " * readers.MAX_LINE_CHARS)[: readers.MAX_LINE_CHARS - 7] + "w"
    text = f"Dana: {words}\nSam: fine"
    assert len(text.splitlines()[0]) == readers.MAX_LINE_CHARS
    assert len(readers.read_transcript(text).utterances) == 2


def test_json_utterance_over_the_line_limit_is_refused() -> None:
    data = json.dumps({"utterances": [{"speaker": "A", "text": "x" * 30_000}]})
    with pytest.raises(readers.TranscriptError, match="utterance 1 is 30,000 characters"):
        readers.read_transcript(data)


def test_random_binary_without_nul_bytes_is_refused() -> None:
    rng = random.Random(11)
    data = bytes(rng.randrange(1, 256) for _ in range(100_000))
    found = read_in_child(data)
    assert "error" in found, f"read as {found.get('utterances')} utterance(s)"
    assert found["error"].startswith("the file looks binary, not a text transcript")


def test_a_few_stray_control_characters_do_not_make_text_binary() -> None:
    text = "Dana: hello\x0c\nSam: hi there\x1a\n" * 20
    assert len(readers.read_transcript(text).utterances) == 40


def turns(count: int) -> str:
    return "\n".join(f"{'Dana' if i % 2 else 'Sam'}: turn {i}" for i in range(count))


def test_the_turn_limit_refuses_more_and_reads_exactly_the_limit() -> None:
    assert len(readers.read_transcript(turns(readers.MAX_UTTERANCES)).utterances) == 10_000
    with pytest.raises(readers.TranscriptError, match="more than 10,000 speaker turns"):
        readers.read_transcript(turns(readers.MAX_UTTERANCES + 1))


def test_the_turn_limit_stands_above_a_long_real_session() -> None:
    # A fast 3-hour conversation: about 30 turns a minute.
    assert readers.MAX_UTTERANCES > 3 * 60 * 30


def test_a_100000_cue_file_is_refused_at_the_turn_limit() -> None:
    cues = "".join(
        f"{i}\n00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\n"
        f"{'Dana' if i % 2 else 'Sam'}: cue {i}\n\n"
        for i in range(1, 100_001)
    )
    found = read_in_child(("WEBVTT\n\n" + cues).encode())
    assert (
        found["error"]
        == "the transcript has more than 10,000 speaker turns; split it into sessions"
    )


def test_a_csv_header_with_a_bare_carriage_return_is_a_clean_error() -> None:
    # Found by the fuzzer in test_transcript_readers.py: the header raised csv.Error.
    with pytest.raises(readers.TranscriptError, match="malformed CSV"):
        readers.read_transcripts("\r0", format="csv")

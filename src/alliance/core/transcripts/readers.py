"""Transcript readers: WebVTT (Zoom, Teams), SRT, plain text, JSON and AnnoMI-style CSV.

Why: counselors bring the transcript their telehealth platform already produced, so we read
those formats as they are, detect which one from the content, and turn every one into the
same :class:`Transcript`. Bad input raises :class:`TranscriptError` with a one-line message;
recoverable damage (a malformed cue) becomes a warning on the transcript instead.

Uploads come from outside, so every pattern here runs in linear time (possessive quantifiers
and character classes that cannot overlap), turns are merged without re-copying text, and
the limits below refuse what no real session looks like before it costs memory or time.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alliance.core.transcripts.model import (
    ROLE_WORDS,
    Transcript,
    TranscriptError,
    Utterance,
)

FORMATS = ("vtt", "srt", "text", "json", "csv")
MAX_BYTES = 20 * 1024 * 1024
#: Longest line of a line-based file (and longest JSON utterance text): about 20 minutes of
#: uninterrupted speech on one line; longer lines are not transcripts.
MAX_LINE_CHARS = 20_000
#: Most speaker turns in one transcript: a fast 3-hour conversation has about 5,000.
MAX_UTTERANCES = 10_000
#: Share of control characters (or undecodable bytes) above which a file is binary, not text.
MAX_CONTROL_SHARE = 0.01
ANNOMI_COLUMNS = ("transcript_id", "utterance_id", "interlocutor", "utterance_text")

# Linear by construction: no two adjacent quantified parts can match the same characters, or
# the first is possessive (``*+``, ``++``), so a failed match never retries earlier splits; tags
# and voices stop at the next ``<`` so a run of ``<`` is scanned once, not once per ``<``.
_TIMING = re.compile(
    r"^\s*+((?:\d{1,3}:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*+-->\s*+"
    r"((?:\d{1,3}:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]++)?\s++([^<>]++)>")
_TAG = re.compile(r"<[^<>]*+>")
#: ``Name: text``, optionally after a ``[00:01]`` time stamp.
_SPEAKER = re.compile(
    r"^\s*+(?:\[?\(?\d{1,2}:\d{2}(?::\d{2})?\)?\]?\s*+)?([^\s:][^:]{0,40}?):\s*+(.*)$"
)
#: Control characters no text transcript holds, and the marks of undecodable bytes.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")


def read_transcript(source: Path | str, format: str | None = None) -> Transcript:
    """Read one transcript from a file path or from text; a multi-transcript CSV is refused."""
    found = read_transcripts(source, format)
    if len(found) != 1:
        raise TranscriptError(f"expected one transcript, found {len(found)}")
    return found[0]


def read_transcripts(source: Path | str, format: str | None = None) -> list[Transcript]:
    """Read every transcript in a file path or text (AnnoMI CSV may hold many)."""
    name = "transcript"
    if isinstance(source, Path):
        text, warnings = decode_bytes(_read_bytes(source))
        name = source.stem
    else:
        text, warnings = source, []
    fmt = format or detect_format(text)
    if fmt not in READERS:
        raise TranscriptError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt != "json":
        check_line_lengths(text)
    found = READERS[fmt](text, name)
    for t in found:
        t.source_format = fmt
        t.warnings[:0] = warnings
        _check_usable(t)
    return found


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise TranscriptError(
                f"{path.name} is {size / 1e6:.0f} MB; the limit is {MAX_BYTES // 2**20} MB "
                "(split the file)"
            )
        return path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read {path}: {exc.strerror or exc}") from None


def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Decode UTF-8 (with or without BOM) or UTF-16; fall back to cp1252 with a warning."""
    if not data.strip():
        raise TranscriptError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise TranscriptError("the file claims UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data[:8192]:
        raise TranscriptError("the file looks binary, not a text transcript")
    try:
        text, warnings = data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        warnings = ["the file is not UTF-8; read it as Windows-1252 (check accented letters)"]
    check_is_text(text)
    return text, warnings


def check_is_text(text: str) -> None:
    """Refuse binary data that happens to decode (no NUL bytes): text holds no control codes."""
    controls = len(text) - len(_CONTROL.sub("", text))  # a count without a list of matches
    if controls >= 4 and controls > MAX_CONTROL_SHARE * len(text):
        raise TranscriptError(
            "the file looks binary, not a text transcript "
            f"({controls:,} control characters or undecodable bytes)"
        )


def check_line_lengths(text: str) -> None:
    """Refuse a line longer than :data:`MAX_LINE_CHARS` (no transcript line is that long)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise TranscriptError(
                f"line {number:,} is {len(line):,} characters long; the limit is "
                f"{MAX_LINE_CHARS:,} characters per line (is this a transcript?)"
            )


def detect_format(text: str) -> str:
    """Guess the format from the content; raise when nothing fits."""
    head = text.lstrip("\ufeff \t\r\n")
    if not head:
        raise TranscriptError("the transcript is empty")
    first = head.splitlines()[0].strip()
    if first.startswith("WEBVTT"):
        return "vtt"
    if head[0] in "[{":
        return "json"
    lines = [ln for ln in head.splitlines()[:3] if ln.strip()]
    if len(lines) >= 2 and first.isdigit() and _TIMING.match(lines[1]):
        return "srt"
    if all(c in first.lower() for c in ANNOMI_COLUMNS):
        return "csv"
    if any(_SPEAKER.match(ln) for ln in head.splitlines()[:50]):
        return "text"
    raise TranscriptError(
        "unknown format: expected WebVTT, SRT, JSON, AnnoMI CSV or 'Speaker: text' lines"
    )


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for p in parts:
        total = total * 60 + float(p)
    return total


def _cue_blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _speaker_and_text(payload: str) -> tuple[str | None, str]:
    voice = _VOICE.search(payload)
    if voice and voice.group(1).strip():
        return voice.group(1).strip(), _clean(payload)
    clean = _clean(payload)
    m = _SPEAKER.match(clean)
    if m and len(m.group(1).split()) <= 4:
        return m.group(1).strip(), m.group(2).strip()
    return None, clean


def _clean(text: str) -> str:
    return " ".join(_TAG.sub("", text).split())


def _read_cues(text: str, name: str, kind: str) -> list[Transcript]:
    """Shared cue reader for WebVTT and SRT."""
    turns = _Turns()
    warnings: list[str] = []
    bad = 0
    for block in _cue_blocks(text):
        if block[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing_at = next((i for i, ln in enumerate(block[:2]) if "-->" in ln), None)
        m = _TIMING.match(block[timing_at]) if timing_at is not None else None
        if m is None or timing_at is None:
            bad += 1
            continue
        speaker, said = _speaker_and_text(" ".join(block[timing_at + 1 :]))
        if not said:
            continue
        speaker = speaker if speaker is not None else turns.last_speaker
        turns.add(Utterance("", speaker, said, _seconds(m[1]), _seconds(m[2])))
    if bad:
        warnings.append(f"skipped {bad} malformed {kind.upper()} cue(s) without a valid timing")
    return [Transcript(name, turns.done(), warnings=warnings)]


def read_vtt(text: str, name: str = "transcript") -> list[Transcript]:
    """WebVTT: Teams ``<v Name>`` voice tags or Zoom ``Name: text`` prefixes."""
    if not text.lstrip("\ufeff \t\r\n").startswith("WEBVTT"):
        raise TranscriptError("not WebVTT: the file must start with 'WEBVTT'")
    return _read_cues(text, name, "vtt")


def read_srt(text: str, name: str = "transcript") -> list[Transcript]:
    """SRT subtitles, with ``Name: text`` speaker prefixes where present."""
    return _read_cues(text, name, "srt")


def read_text(text: str, name: str = "transcript") -> list[Transcript]:
    """``Speaker: text`` lines; lines without a prefix continue the previous turn."""
    turns = _Turns()
    orphan = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _SPEAKER.match(line)
        if m and len(m.group(1).split()) <= 4 and not m.group(1).strip().startswith("http"):
            turns.add(Utterance("", m.group(1).strip(), m.group(2).strip()))
        elif not turns.extend(line.strip()):
            orphan += 1
    warnings = [f"ignored {orphan} line(s) before the first 'Speaker:' line"] if orphan else []
    return [Transcript(name, turns.done(), warnings=warnings)]


def read_json(text: str, name: str = "transcript") -> list[Transcript]:
    """JSON: ``{"transcript_id", "utterances": [{"speaker", "text", "start", "end", "role"}]}``,
    a list of such objects, or a bare list of utterances (see docs/transcripts.md)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if (
        isinstance(data, list)
        and data
        and all(isinstance(d, dict) and "utterances" in d for d in data)
    ):
        return [_json_transcript(d, f"{name}-{i}") for i, d in enumerate(data)]
    if isinstance(data, list):
        data = {"utterances": data}
    if not isinstance(data, dict) or not isinstance(data.get("utterances"), list):
        raise TranscriptError("JSON transcript needs an 'utterances' list")
    return [_json_transcript(data, name)]


def _json_transcript(data: dict[str, Any], name: str) -> Transcript:
    utts: list[Utterance] = []
    skipped = 0
    given = False
    for item in data["utterances"]:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            skipped += 1
            continue
        if len(item["text"]) > MAX_LINE_CHARS:
            raise TranscriptError(
                f"utterance {len(utts) + skipped + 1:,} is {len(item['text']):,} characters "
                f"long; the limit is {MAX_LINE_CHARS:,} (is this a transcript?)"
            )
        role = ROLE_WORDS.get(str(item.get("role", "")).lower())
        given = given or role is not None
        utts.append(
            Utterance(
                str(item.get("id", len(utts))),
                str(item.get("speaker") or "Unknown"),
                " ".join(item["text"].split()),
                _num(item.get("start")),
                _num(item.get("end")),
                role,
            )
        )
    warnings = [f"skipped {skipped} utterance(s) without a 'text' string"] if skipped else []
    tid = str(data.get("transcript_id", name))
    return Transcript(tid, merge_turns(utts), warnings=warnings, roles_given=given)


def _num(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _TIMING.match(f"{value} --> {value}"):
        return _seconds(value)
    return None


def read_csv(text: str, name: str = "transcript") -> list[Transcript]:
    """AnnoMI-style CSV: many transcripts, roles from ``interlocutor``; ids kept as given."""
    rows = csv.DictReader(io.StringIO(text))
    try:
        header = rows.fieldnames or []
    except csv.Error as exc:  # e.g. a bare carriage return in the header line
        raise TranscriptError(f"malformed CSV: {exc}") from None
    missing = [c for c in ANNOMI_COLUMNS if c not in header]
    if missing:
        raise TranscriptError(f"CSV lacks column(s): {', '.join(missing)}")
    groups: dict[str, list[Utterance]] = {}
    try:
        for row in rows:
            speaker = (row["interlocutor"] or "unknown").strip()
            utt = Utterance(
                str(row["utterance_id"]).strip(),
                speaker,
                " ".join((row["utterance_text"] or "").split()),
                role=ROLE_WORDS.get(speaker.lower()),
            )
            groups.setdefault(str(row["transcript_id"]).strip(), []).append(utt)
    except csv.Error as exc:
        raise TranscriptError(f"malformed CSV: {exc}") from None
    return [
        Transcript(tid, utts, roles_given=all(u.role for u in utts)) for tid, utts in groups.items()
    ]


def merge_turns(utts: list[Utterance]) -> list[Utterance]:
    """Merge consecutive cues of one speaker into one turn, renumbering ids."""
    turns = _Turns()
    for u in utts:
        turns.add(u)
    return turns.done()


class _Turns:
    """Merges cues into turns as they are read, in linear time and bounded memory.

    Why: joining strings cue by cue copies the growing turn each time (quadratic on a long
    monologue), and holding every cue before merging costs memory a hostile file controls.
    """

    def __init__(self) -> None:
        self.turns: list[Utterance] = []
        self.parts: list[str] = []  # the text pieces of the last turn, joined at the end

    @property
    def last_speaker(self) -> str:
        return self.turns[-1].speaker if self.turns else "Unknown"

    def add(self, u: Utterance) -> None:
        if self.turns and not any(self.parts):  # a turn with no words: as if never read
            self.turns.pop()
            self.parts = [self.turns[-1].text] if self.turns else []
        last = self.turns[-1] if self.turns else None
        if last is not None and last.speaker == u.speaker and last.role == u.role:
            self.extend(u.text)
            last.end = u.end if u.end is not None else last.end
            return
        self._close()
        if len(self.turns) >= MAX_UTTERANCES:
            raise TranscriptError(
                f"the transcript has more than {MAX_UTTERANCES:,} speaker turns; "
                "split it into sessions"
            )
        self.turns.append(u)
        self.parts = [u.text]

    def extend(self, text: str) -> bool:
        """Append text to the last turn; False when there is none yet."""
        if not self.turns:
            return False
        if text:
            self.parts.append(text)
        return True

    def _close(self) -> None:
        if self.turns:
            self.turns[-1].text = " ".join(p for p in self.parts if p).strip()

    def done(self) -> list[Utterance]:
        self._close()
        kept = [u for u in self.turns if u.text]
        for i, u in enumerate(kept):
            u.utterance_id = str(i)
        return kept


def _check_usable(t: Transcript) -> None:
    if not t.utterances:
        raise TranscriptError(f"transcript {t.transcript_id!r} has no utterances")
    if len(t.utterances) > MAX_UTTERANCES:
        raise TranscriptError(
            f"transcript {t.transcript_id!r} has {len(t.utterances):,} speaker turns; "
            f"the limit is {MAX_UTTERANCES:,} (split it into sessions)"
        )
    if len(t.speakers) < 2:
        t.warnings.append(
            f"only one speaker ({t.speakers[0]!r}): every utterance is taken as the counselor's"
        )


READERS: dict[str, Callable[[str, str], list[Transcript]]] = {
    "vtt": read_vtt,
    "srt": read_srt,
    "text": read_text,
    "json": read_json,
    "csv": read_csv,
}

"""Hostile transcript files and the largest allowed one: reading time, worker memory, page size.

Usage:  python -m benchmarks.transcripts_hostile [--skip-analysis]

1. Reading time of each hostile input (the readers used to be quadratic on these: 160 KB of
   ``<`` took 18.7 s), in this process, after the patterns are compiled.
2. The upload check as the web server runs it: a child process per upload
   (``alliance.core.transcripts.checkfile``), wall time including interpreter start.
3. The largest transcript the limits allow (``MAX_UTTERANCES`` turns) analysed in a fresh
   process, as the worker does: wall time, peak RSS, and the size of what the report page
   embeds (the stored timeline SVG; the utterance table is paged).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from alliance.core.transcripts import readers
from alliance.core.transcripts.model import TranscriptError
from benchmarks.synthetic_transcripts import long_session

CUE = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"
WORKER = """
import resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.readers import read_transcript
from alliance.core.transcripts.report import timeline_svg
a = analyze_transcript(read_transcript(Path(sys.argv[1])))
svg = timeline_svg(a)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(a.rows), round(time.perf_counter() - t0, 1), round(peak), len(svg))
"""


def hostile_inputs() -> dict[str, str]:
    rng = random.Random(5)
    binary = bytes(rng.randrange(1, 256) for _ in range(100_000))
    return {
        "160 KB of '<' on one line": CUE + "<" * 160_000,
        "480 KB of '<' in one cue": CUE + "\n".join(["<" * 16_000] * 30),
        "unclosed <v tags, 480 KB": CUE + "\n".join(["<v a" * 4_000] * 30),
        "'<v' and spaces, 480 KB": CUE + "\n".join(["<v" + " " * 15_998] * 30),
        "one speaker, 300,000 cues": "Sam: w\n" * 300_000 + "Dana: ok\n",
        "1,000,000 continuation lines": "Sam: hi\n" + "w\n" * 1_000_000,
        "100,000 alternating cues": "".join(
            f"{'Dana' if i % 2 else 'Sam'}: cue {i}\n" for i in range(100_000)
        ),
        "random bytes, no NUL": binary.decode("cp1252", errors="replace"),
    }


def timed(fn: Callable[[], object]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        found = fn()
        outcome = f"read: {found}"
    except TranscriptError as exc:
        outcome = f"refused: {exc}"
    return time.perf_counter() - start, outcome


def largest_allowed() -> str:
    return long_session(readers.MAX_UTTERANCES, seed=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-analysis", action="store_true", help="skip part 3 (slow)")
    args = parser.parse_args()
    print("1. reading hostile inputs in this process")
    for name, text in hostile_inputs().items():
        seconds, outcome = timed(
            lambda t=text: len(readers.check_is_text(t) or readers.read_transcript(t).utterances)
        )
        print(f"  {name:32s} {seconds:7.3f} s  {outcome[:90]}")
    text = largest_allowed()
    print(f"2. upload check in a child process, largest allowed file ({len(text) / 1e6:.1f} MB)")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "alliance.core.transcripts.checkfile"],
        input=text.encode(),
        capture_output=True,
        check=True,
    )
    print(f"  {time.perf_counter() - start:.2f} s including interpreter start")
    if args.skip_analysis:
        return
    print(f"3. analysis of {readers.MAX_UTTERANCES:,} turns in a fresh process (the worker's job)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "largest.txt"
        path.write_text(text)
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(path)], capture_output=True, check=True, text=True
        )
    rows, seconds, peak, svg = out.stdout.split()
    print(
        f"  {rows} utterances in {seconds} s, peak RSS {peak} MB, timeline SVG {int(svg):,} bytes"
    )


if __name__ == "__main__":
    main()

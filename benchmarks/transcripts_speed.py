"""Speed and memory of transcript analysis, end to end (read, roles, code, metrics).

Usage:  python benchmarks/transcripts_speed.py [--threads 2] [--limit 3000]

1. Throughput: utterances/s over AnnoMI transcripts read from the CSV (after model load).
2. A 600-utterance session (``Speaker: text`` file) analysed in a fresh process: wall time
   including interpreter start and model load, and that process's peak RSS.
Falls back to the test fixtures when ../shared/datasets is missing.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("ALLIANCE_DATASETS", ROOT / ".." / "shared" / "datasets"))
CHILD = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.readers import read_transcript
from alliance.core.transcripts.report import to_text
a = analyze_transcript(read_transcript(Path(sys.argv[1])))
to_text(a)
print(len(a.rows), time.perf_counter() - t0)
"""


def annomi_text(limit: int) -> str:
    path = DATASETS / "annomi" / "AnnoMI-simple.csv"
    if not path.exists():
        lines = (ROOT / "tests/fixtures/transcripts/annomi_small.csv").read_text().splitlines()
        return "\n".join(lines[:1] + lines[1:] * (limit // 7 + 1)) + "\n"
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    buf = io.StringIO()
    cols = ["transcript_id", "utterance_id", "interlocutor", "utterance_text"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def session_file(n: int, path: Path) -> None:
    """A 600-turn session alternating counselor and client, from AnnoMI text if present."""
    rows = list(csv.DictReader(io.StringIO(annomi_text(n * 2))))
    by_role = {
        r: [x["utterance_text"] for x in rows if x["interlocutor"] == r]
        for r in ("therapist", "client")
    }
    lines = []
    for i in range(n):
        role, name = ("therapist", "Dana") if i % 2 == 0 else ("client", "Sam")
        pool = by_role[role]
        lines.append(f"{name}: {pool[(i // 2) % len(pool)]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def throughput(limit: int, threads: int) -> None:
    from alliance.core.transcripts.analysis import analyze_all
    from alliance.core.transcripts.encoder import DIALOGUE_TOKENS, get_encoder
    from alliance.core.transcripts.readers import read_transcripts

    enc = get_encoder(threads, DIALOGUE_TOKENS)
    enc.encode(["warm up"])
    text = annomi_text(limit)
    t0 = time.perf_counter()
    analyses = analyze_all(read_transcripts(text), encoder=enc)
    dt = time.perf_counter() - t0
    n = sum(len(a.rows) for a in analyses)
    print(
        f"throughput: {n} utterances in {len(analyses)} transcripts, {dt:.1f}s "
        f"-> {n / dt:.0f} utterances/s ({threads} threads, after model load)"
    )


def fresh_session(threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.txt"
        session_file(600, path)
        env = {**os.environ, "ALLIANCE_THREADS": str(threads)}
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"600-utterance session ({out[0]} turns): {wall:.2f}s wall in a fresh process "
        f"(in-process {float(out[1]):.2f}s incl. imports and model load); "
        f"peak RSS {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=3000)
    args = parser.parse_args()
    fresh_session(args.threads)
    throughput(args.limit, args.threads)


if __name__ == "__main__":
    main()

"""Speed and memory of transcript analysis, end to end (read, roles, code, metrics).

Usage:  python benchmarks/transcripts_speed.py [--threads 2] [--limit 3000] [--research]
            [--second-encoder PATH]

1. Throughput: utterances/s over AnnoMI transcripts read from the CSV (after model load).
2. A 600-utterance session (``Speaker: text`` file) analysed in a fresh process: wall time
   including interpreter start and model load, and that process's peak RSS.
``--research`` runs both with the research pack on (empathy heads over the default encoder,
as shipped). ``--second-encoder`` adds what the other way of running the research pack would
cost, its own encoder (e.g. the earlier fine-tuned ``minilm-l6-q8.onnx``): loading it and a
second encoding of every utterance. Falls back to the test fixtures when ../shared/datasets
is missing.
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
from alliance.core.transcripts.encoder import DIALOGUE_TOKENS, Encoder
from alliance.core.transcripts.readers import read_transcript
from alliance.core.transcripts.report import to_text
a = analyze_transcript(read_transcript(Path(sys.argv[1])), research=sys.argv[2] == "on")
to_text(a)
if sys.argv[3]:
    Encoder(Path(sys.argv[3]), max_tokens=DIALOGUE_TOKENS).encode([r["text"] for r in a.rows])
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


def throughput(limit: int, threads: int, research: bool, second: Path | None) -> None:
    from alliance.core.transcripts.analysis import analyze_all
    from alliance.core.transcripts.encoder import DIALOGUE_TOKENS, Encoder, get_encoder
    from alliance.core.transcripts.readers import read_transcripts

    enc = get_encoder(threads, DIALOGUE_TOKENS)
    enc.encode(["warm up"])
    other = Encoder(second, threads, DIALOGUE_TOKENS) if second else None
    text = annomi_text(limit)
    t0, cpu0 = time.perf_counter(), time.process_time()
    analyses = analyze_all(read_transcripts(text), encoder=enc, research=research)
    if other is not None:
        other.encode([r["text"] for a in analyses for r in a.rows])
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    n = sum(len(a.rows) for a in analyses)
    print(
        f"throughput: {n} utterances in {len(analyses)} transcripts, {dt:.1f}s "
        f"-> {n / dt:.0f} utterances/s ({threads} threads, after model load; CPU {cpu:.1f}s "
        f"-> {n / cpu * threads:.0f} utterances/s on {threads} idle cores); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def fresh_session(threads: int, research: bool, second: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.txt"
        session_file(600, path)
        env = {**os.environ, "ALLIANCE_THREADS": str(threads)}
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(path),
                "on" if research else "off",
                str(second or ""),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"600-utterance session ({out[0]} turns): {wall:.2f}s wall in a fresh process "
        f"(in-process {float(out[1]):.2f}s incl. imports and model load; CPU "
        f"{usage.ru_utime + usage.ru_stime:.2f}s, a busy machine's wall time is higher); "
        f"peak RSS {usage.ru_maxrss / 1024:.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--research", action="store_true", help="research pack on")
    parser.add_argument("--second-encoder", type=Path, help="also run this encoder over all")
    args = parser.parse_args()
    print(
        f"research pack {'on' if args.research else 'off'}; second encoder: {args.second_encoder}"
    )
    fresh_session(args.threads, args.research, args.second_encoder)
    throughput(args.limit, args.threads, args.research, args.second_encoder)


if __name__ == "__main__":
    main()

"""Speed and memory of ``alliance transcribe`` on a long synthetic session.

Usage:  python benchmarks/transcribe_speed.py [--minutes 50] [--threads 2] [--format wav]

Makes a dialogue of about ``--minutes`` (the scripted counseling lines in two festival voices,
repeated with varied pauses; benchmarks/transcribe_dialogues.py), then transcribes it in a
fresh process as the CLI does (model load included) and prints wall time, real-time factor,
that process's peak resident memory and CPU time, and WER and speaker-attributed WER over the whole file
(so speaker labels must agree across every chunk). Needs festival, sox and ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import transcribe_dialogues as td  # noqa: E402

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from alliance.core.audio.pipeline import Transcriber
tr = Transcriber(threads=int(sys.argv[2]))
t1 = time.perf_counter()
words = tr.words(Path(sys.argv[1]))
t2 = time.perf_counter()
json.dump({"load_s": t1 - t0, "run_s": t2 - t1,
           "words": [[w.speaker, w.text] for w in words]}, sys.stdout)
"""


def long_session(minutes: float, seed: int = 0) -> tuple[np.ndarray, list[td.Turn]]:
    """The script repeated with pauses drawn from 0.3-1.5 s until ``minutes`` are filled."""
    rng = np.random.default_rng(seed)
    lines = td.DIALOGUE + td.MORE
    pieces, turns, t = [np.zeros(td.RATE // 2, np.float32)], [], 0.5
    for role, text in lines * 10_000:
        if t >= minutes * 60:
            break
        said = td.dialogue([(role, text)], gap=0, lead=0)[0]
        turns.append(td.Turn(role, text, t, t + len(said) / td.RATE))
        gap = float(rng.uniform(0.3, 1.5))
        pieces += [said, np.zeros(int(gap * td.RATE), np.float32)]
        t += len(said) / td.RATE + gap
    return np.concatenate(pieces), turns


def main() -> None:
    from alliance.core.audio.metrics import cpwer, normalise, wer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--format", default="wav", choices=["wav", "mp3", "m4a", "ogg", "webm"])
    args = parser.parse_args()
    audio, turns = long_session(args.minutes)
    seconds = len(audio) / td.RATE
    with tempfile.TemporaryDirectory() as tmp:
        path = td.save(audio, Path(tmp) / f"session.{args.format}")
        del audio
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - start
    result = json.loads(done.stdout)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    ref = td.script_words(turns)
    hyp = [(s, w) for s, text in result["words"] for w in normalise(text)]
    print(
        f"recording: {seconds / 60:.1f} min ({args.format}), {len(ref):,} words, {args.threads} threads"
    )
    print(
        f"wall {wall:.0f} s (model load {result['load_s']:.1f} s, transcription {result['run_s']:.0f} s)"
    )
    print(f"real-time factor {wall / seconds:.3f}; peak memory {peak_mb:.0f} MB")
    # On a shared machine wall time includes waiting for a core; CPU time does not.
    print(
        f"CPU time {cpu:.0f} s = {cpu / args.threads:.0f} s on {args.threads} idle cores "
        f"(real-time factor {cpu / args.threads / seconds:.3f})"
    )
    print(
        f"WER {wer([w for _, w in ref], [w for _, w in hyp]):.2%}; speaker-attributed WER {cpwer(ref, hyp):.2%}"
    )


if __name__ == "__main__":
    main()

"""Word error rate and speaker-attributed word error rate of ``alliance transcribe``.

Usage:  python benchmarks/transcribe_accuracy.py [--threads 2] [--repeats 3]

Generated two-voice counseling dialogues (benchmarks/transcribe_dialogues.py; the script is
the truth), each about ``--repeats`` x 65 s, under these conditions:
clean; white noise at 20 dB and 10 dB SNR; quick turns (0.2 s pauses); a similar voice (the
same female voice for the client, pitch-shifted down 300 cents); and the clean dialogue as
MP3 at 32 kbit/s. Prints WER and speaker-attributed WER (cpWER). Synthetic read speech
without overlap: real sessions are harder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import transcribe_dialogues as td  # noqa: E402

SIMILAR = {"counselor": td.VOICES["counselor"], "client": td.VOICES["counselor"] + ":-300"}


def conditions(repeats: int) -> dict[str, tuple[object, list[td.Turn], str]]:
    lines = (td.DIALOGUE + td.MORE) * repeats
    clean, turns = td.dialogue(lines)
    quick, quick_turns = td.dialogue(lines, gap=0.2)
    similar, similar_turns = td.dialogue(lines, voices=SIMILAR)
    return {
        "clean": (clean, turns, ".wav"),
        "noise 20 dB": (td.add_noise(clean, 20), turns, ".wav"),
        "noise 10 dB": (td.add_noise(clean, 10), turns, ".wav"),
        "quick turns (0.2 s)": (quick, quick_turns, ".wav"),
        "similar voice (-300 cents)": (similar, similar_turns, ".wav"),
        "mp3 32 kbit/s": (clean, turns, ".mp3"),
    }


def main() -> None:
    import subprocess

    from alliance.core.audio.metrics import cpwer, normalise, wer
    from alliance.core.audio.pipeline import Transcriber

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    transcriber = Transcriber(threads=args.threads)
    print(f"{'condition':28} {'minutes':>7} {'WER':>7} {'cpWER':>7} {'time s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (audio, turns, suffix) in conditions(args.repeats).items():
            path = td.save(audio, Path(tmp) / f"x{suffix}")  # type: ignore[arg-type]
            if suffix == ".mp3":
                wav = Path(tmp) / "x.wav"
                td.save(audio, wav)  # type: ignore[arg-type]
                subprocess.run(
                    [
                        "ffmpeg",
                        "-y",
                        "-loglevel",
                        "error",
                        "-i",
                        str(wav),
                        "-b:a",
                        "32k",
                        str(path),
                    ],
                    check=True,
                )
            start = time.perf_counter()
            words = transcriber.words(path)
            took = time.perf_counter() - start
            ref = td.script_words(turns)
            hyp = [(w.speaker, t) for w in words for t in normalise(w.text)]
            minutes = turns[-1].end / 60
            plain = wer([w for _, w in ref], [w for _, w in hyp])
            print(f"{name:28} {minutes:7.1f} {plain:7.2%} {cpwer(ref, hyp):7.2%} {took:7.0f}")


if __name__ == "__main__":
    main()

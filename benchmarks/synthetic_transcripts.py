"""A synthetic, legitimate transcript of any length (invented words, two speakers): for the
fault tests that must watch a long analysis run, and for the benchmarks of the largest file
the reader accepts."""

from __future__ import annotations

import random

WORDS = [
    "so",
    "how",
    "have",
    "you",
    "been",
    "feeling",
    "about",
    "the",
    "drinking",
    "since",
    "we",
    "last",
    "met",
    "it",
    "sounds",
    "like",
    "a",
    "lot",
    "has",
    "changed",
    "at",
    "work",
    "and",
    "at",
    "home",
    "what",
    "would",
    "make",
    "this",
    "week",
    "better",
    "for",
    "you",
]


def long_session(turns: int, seed: int = 7) -> str:
    """``turns`` alternating turns of 8-20 words, every third a question."""
    rng = random.Random(seed)
    lines = []
    for i in range(turns):
        speaker = "Dana Reyes" if i % 2 == 0 else "Sam Lee"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        lines.append(f"{speaker}: {words}{'?' if i % 3 == 0 else '.'}")
    return "\n".join(lines)

"""What a message to a client must never say: the one list of health words, and its check.

Why: an email preview or a shared phone shows a message to whoever looks. A message says who is
asking and gives the link, nothing that tells an onlooker the person is in treatment, with what,
or how they score (issue 15). Every rendered message passes :func:`health_words_in` before it is
sent (``services.compose``), and the tests render every template against it.
"""

from __future__ import annotations

import re
from functools import cache

from alliance.core.instruments import bundled_instruments

#: Word beginnings that name care, conditions, risk or results ("therap" covers therapy,
#: therapist, therapeutic). Matched at the start of a word, case-insensitively.
HEALTH_STEMS = (
    "addict",
    "alcohol",
    "anxi",
    "counsel",
    "crisis",
    "depress",
    "diagnos",
    "disorder",
    "medicat",
    "mental",
    "overdos",
    "patient",
    "psych",
    "result",
    "score",
    "self-harm",
    "suicid",
    "symptom",
    "therap",
    "trauma",
    "treatment",
)
#: Whole words only (as stems they would catch ordinary words: harmony, moody, scored).
HEALTH_WORDS = ("adhd", "harm", "mood", "ocd", "ptsd", "severity")

_URL = re.compile(r"https?://\S+")


@cache
def _pattern() -> re.Pattern[str]:
    """Stems, whole words, and every bundled measure's id, short and full title."""
    measures = set()
    for instrument in bundled_instruments().values():
        measures.update({instrument.id, instrument.short_title, instrument.title})
    stems = [rf"{re.escape(s)}\w*" for s in HEALTH_STEMS]
    words = [re.escape(w) for w in (*HEALTH_WORDS, *sorted(measures, key=len, reverse=True))]
    return re.compile(rf"(?<![\w-])(?:{'|'.join(stems + words)})(?![\w-])", re.IGNORECASE)


def health_words_in(text: str) -> list[str]:
    """The health words in ``text``, links left out (their tokens are random letters)."""
    return [m.group(0) for m in _pattern().finditer(_URL.sub(" ", text))]

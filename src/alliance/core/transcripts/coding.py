"""Utterance coding: MI behaviour, client talk and EPITOME empathy, each with a probability.

Why: coding by hand takes trained raters hours per session. Each utterance is encoded once;
its features join its own embedding with the embeddings of the two preceding turns (context
matters: a reflection is only a reflection of something) and hashed word n-grams of the
utterance and of the previous turn. Heads are multinomial logistic regressions stored as
``.npz`` and evaluated in numpy; ``training/train_transcript_models.py`` fits them on the
embeddings of the fine-tuned encoder (``training/finetune_encoder.py``).
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from alliance.core.transcripts import packs
from alliance.core.transcripts.encoder import DIM

HASH_BITS = 17
N_BUCKETS = 1 << HASH_BITS
DENSE_DIM = 6 * DIM
_TOKEN = re.compile(r"[a-z0-9']+|[?!.,]")

#: Which head codes which role, and the labels it predicts (order = stored weight rows).
HEADS: dict[str, tuple[str, ...]] = {
    "therapist_behaviour": ("question", "reflection", "therapist_input", "other"),
    "reflection": ("simple", "complex"),
    "question": ("open", "closed"),
    "client_talk": ("change", "neutral", "sustain"),
    "emotional_reactions": ("0", "1", "2"),
    "interpretations": ("0", "1", "2"),
    "explorations": ("0", "1", "2"),
}
EMPATHY_HEADS = packs.EMPATHY_HEADS


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def text_grams(text: str, prev: str, prev_same_speaker: bool, nxt: str = "") -> list[str]:
    """Word 1-3 grams of the utterance, cue tokens, and word unigrams of the neighbour turns."""
    toks = _tokens(text)
    grams = list(toks)
    grams += [f"{a} {b}" for a, b in itertools.pairwise(toks)]
    grams += [f"{a} {b} {c}" for a, b, c in zip(toks, toks[1:], toks[2:], strict=False)]
    grams += [f"^{' '.join(toks[:k])}" for k in (1, 2, 3) if len(toks) >= k]
    grams.append(f"$end:{toks[-1] if toks else ''}")
    grams.append(f"$len:{min(len(toks).bit_length(), 8)}")
    grams.append(f"$q:{min(text.count('?'), 3)}")
    grams += [f"p:{t}" for t in _tokens(prev)]
    grams.append(f"$plen:{min(len(_tokens(prev)).bit_length(), 8)}")
    if prev_same_speaker:
        grams.append("$prevsame")
    grams += [f"n:{t}" for t in _tokens(nxt)]
    return grams


def hashed(grams: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Bucket ids and L2-normalised sublinear counts of ``grams`` (crc32: stable across runs)."""
    counts: dict[int, int] = {}
    for g in grams:
        h = zlib.crc32(g.encode("utf-8")) & (N_BUCKETS - 1)
        counts[h] = counts.get(h, 0) + 1
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    val = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    norm = float(np.linalg.norm(val)) or 1.0
    return idx, (val / norm).astype(np.float32)


@dataclass
class Context:
    """Per-utterance inputs to a head: texts, embeddings and which rows precede which."""

    texts: list[str]
    emb: np.ndarray
    prev: np.ndarray
    prev2: np.ndarray
    prev_same: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    nxt: np.ndarray | None = None
    session: np.ndarray | None = None
    _cache: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def dense(self, rows: np.ndarray) -> np.ndarray:
        """[e, e_prev, e_prev2, e * e_prev, e_next, e_speaker] for ``rows`` (missing = zeros).

        The next turn is context too: a transcript is analysed after the session, and the
        other speaker's answer tells much about what an utterance did. ``e_speaker`` is the
        mean embedding of the speaker's turns in the session (their stance and topic)."""
        pad = np.vstack([self.emb, np.zeros((1, DIM), dtype=np.float32)])
        e = pad[rows]
        p = pad[self.prev[rows]]
        p2 = pad[self.prev2[rows]]
        nx = pad[self.nxt[rows]] if self.nxt is not None else np.zeros_like(e)
        sp = self.session[rows] if self.session is not None else np.zeros_like(e)
        return np.hstack([e, p, p2, e * p, nx, sp]).astype(np.float32)

    def sparse(self, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Hashed n-gram features for ``rows``."""
        return [self._sparse_row(int(r)) for r in rows]

    def _sparse_row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self._cache:
            p = int(self.prev[r])
            prev_text = self.texts[p] if p >= 0 else ""
            same = bool(self.prev_same[r]) if len(self.prev_same) else False
            n = int(self.nxt[r]) if self.nxt is not None else -1
            next_text = self.texts[n] if n >= 0 else ""
            self._cache[r] = hashed(text_grams(self.texts[r], prev_text, same, next_text))
        return self._cache[r]


def dialogue_context(texts: list[str], speakers: list[str], emb: np.ndarray) -> Context:
    """Context where each utterance's previous turns are simply the ones before it."""
    n = len(texts)
    prev = np.arange(n) - 1
    prev2 = np.arange(n) - 2
    prev2[prev2 < 0] = -1
    same = np.array([i > 0 and speakers[i] == speakers[i - 1] for i in range(n)], dtype=bool)
    nxt = np.arange(n) + 1
    if n:
        nxt[-1] = -1
    return Context(texts, emb, prev, prev2, same, nxt, speaker_means(emb, speakers))


def speaker_means(emb: np.ndarray, keys: Sequence[object]) -> np.ndarray:
    """Each row gets the mean embedding of all rows with the same key (speaker in session)."""
    out = np.zeros_like(emb)
    groups: dict[object, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    for idx in groups.values():
        out[idx] = emb[idx].mean(axis=0)
    return out


def pair_context(
    seekers: list[str], responses: list[str], emb_s: np.ndarray, emb_r: np.ndarray
) -> Context:
    """EPITOME layout: each response's previous turn is its seeker post."""
    n = len(responses)
    texts = list(responses) + list(seekers)
    emb = np.vstack([emb_r, emb_s]) if n else np.zeros((0, DIM), dtype=np.float32)
    prev = np.concatenate([np.arange(n) + n, np.full(n, -1)])
    return Context(texts, emb, prev, np.full(2 * n, -1), np.zeros(2 * n, dtype=bool))


class Head:
    """Multinomial logistic regression over [dense | hashed] features, in numpy."""

    def __init__(
        self,
        name: str,
        labels: Sequence[str],
        w_dense: np.ndarray,
        w_sparse: np.ndarray,
        bias: np.ndarray,
    ) -> None:
        self.name = name
        self.labels = tuple(labels)
        self.w_dense = w_dense.astype(np.float32)
        self.w_sparse = w_sparse.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def load(cls, path: Path) -> Head:
        with np.load(path, allow_pickle=False) as z:
            labels = json.loads(str(z["labels"]))
            return cls(path.stem, labels, z["w_dense"], z["w_sparse"], z["bias"])

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            labels=np.array(json.dumps(list(self.labels))),
            w_dense=self.w_dense.astype(np.float16),
            w_sparse=self.w_sparse.astype(np.float16),
            bias=self.bias,
        )

    def predict_proba(self, ctx: Context, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (len(rows), n_labels)."""
        if len(rows) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = ctx.dense(rows) @ self.w_dense.T + self.bias
        feats = ctx.sparse(rows)
        idx = np.concatenate([i for i, _ in feats])
        val = np.concatenate([v for _, v in feats])
        starts = np.r_[0, np.cumsum([len(i) for i, _ in feats])[:-1]]
        # every row has at least one n-gram (the length and end tokens), so no empty segment
        logits += np.add.reduceat(self.w_sparse[:, idx] * val, starts, axis=1).T
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


@lru_cache(maxsize=2)
def load_heads(research: bool = False) -> dict[str, Head]:
    """The default pack's heads, and the research pack's only when ``research`` is True (its
    files are not even opened otherwise: their terms allow non-commercial research only);
    loaded once per process."""
    heads = {}
    for pack in packs.PACKS.values():
        if pack.opt_in and not research:
            continue
        for name in pack.heads:
            path = pack.directory / f"{name}.npz"
            if path.exists():
                heads[name] = Head.load(path)
    return heads

"""Who spoke when: speaker embeddings on sliding windows, spectral clustering, one label a word.

Why: the recipe measured best on these machines (/work/shared/notes/audio-facts.md): 1.6 s
windows every 0.5 s inside speech, Resemblyzer's encoder (converted to ONNX, no PyTorch),
spectral clustering of the cosine affinity (average-linkage agglomeration failed on similar
voices), and each word takes the label of the nearest window. Clustering runs once over the
whole recording (a subsample of at most ``MAX_CLUSTER_WINDOWS``, then every window goes to the
nearest centre), so labels agree across the chunks the recogniser works in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from alliance.core.audio import AudioError
from alliance.core.audio.features import HOP, SAMPLE_RATE, mel_frames

WINDOW_FRAMES = 160  # partials_n_frames: 1.6 s of 10 ms mel frames
STEP_FRAMES = 50  # 0.5 s hop
MIN_FRAMES = 50  # a region under 0.5 s gets no window of its own
BATCH = 64
MAX_CLUSTER_WINDOWS = 1500
#: Two clusters whose centres are closer than this are one voice. Measured on festival voices
#: (one voice forced into two clusters: 0.96 for either voice; the two voices: 0.57).
SAME_VOICE_SIMILARITY = 0.9


@dataclass
class Windows:
    """Embedding windows of a recording: centre times (s) and unit vectors (n, 256)."""

    centres: list[float] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def array(self) -> np.ndarray:
        return np.vstack(self.vectors) if self.vectors else np.zeros((0, 256), np.float32)


class SpeakerEncoder:
    """Resemblyzer's LSTM encoder in onnxruntime: (batch, frames, 40) mel -> (batch, 256)."""

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort

        from alliance.core.audio.models import speaker_model

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(speaker_model()), opts, providers=["CPUExecutionProvider"]
        )

    def embed(self, mels: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run(None, {"mels": mels.astype(np.float32)})[0]
        return out

    def add_region(self, wav: np.ndarray, offset: float, into: Windows) -> None:
        """Embed the windows of one speech region (samples already volume-normalised)."""
        mels = mel_frames(wav)
        n = len(mels)
        if n < MIN_FRAMES:
            return
        if n <= WINDOW_FRAMES:
            starts, width = [0], n
        else:
            starts = list(range(0, n - WINDOW_FRAMES + 1, STEP_FRAMES))
            if starts[-1] + WINDOW_FRAMES < n:
                starts.append(n - WINDOW_FRAMES)
            width = WINDOW_FRAMES
        for b in range(0, len(starts), BATCH):
            batch = starts[b : b + BATCH]
            vectors = self.embed(np.stack([mels[s : s + width] for s in batch]))
            for s, v in zip(batch, vectors, strict=True):
                into.centres.append(offset + (s + width / 2) * HOP / SAMPLE_RATE)
                into.vectors.append(v)


def cluster(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Labels 0..k-1 for every vector; refuses when the k voices are not distinct."""
    if len(vectors) < 2 * k:
        raise AudioError(f"too little speech to tell {k} speakers apart")
    if k == 1:
        return np.zeros(len(vectors), dtype=int)
    rng = np.random.default_rng(seed)
    sample = vectors
    if len(vectors) > MAX_CLUSTER_WINDOWS:
        sample = vectors[np.sort(rng.choice(len(vectors), MAX_CLUSTER_WINDOWS, replace=False))]
    labels = _kmeans(_spectral_embedding(sample, k), k, rng)
    centres = _centres(sample, labels, k)
    for _ in range(3):  # every window to its nearest centre, then the centres again
        labels = np.argmax(vectors @ centres.T, axis=1)
        centres = _centres(vectors, labels, k)
    _check_distinct(centres, labels, k)
    return labels


def _spectral_embedding(x: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k leading eigenvectors of the normalised, neighbour-pruned affinity."""
    affinity = np.clip(x @ x.T, 0.0, 1.0)
    keep = max(10, len(x) // 10)
    cut = -np.sort(-affinity, axis=1)[:, min(keep, len(x) - 1)][:, None]
    affinity = np.where(affinity >= cut, affinity, 0.0)
    affinity = (affinity + affinity.T) / 2
    scale = 1.0 / np.sqrt(affinity.sum(axis=1) + 1e-9)
    normalised = affinity * scale[:, None] * scale[None, :]
    _, vecs = np.linalg.eigh(normalised)
    top = vecs[:, -k:]
    return top / (np.linalg.norm(top, axis=1, keepdims=True) + 1e-9)


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 10) -> np.ndarray:
    """Best of several k-means++ runs (lowest inertia)."""
    best, best_cost = np.zeros(len(x), dtype=int), np.inf
    for _ in range(rounds):
        centres = x[[rng.integers(len(x))]]
        while len(centres) < k:
            d = np.min(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
            centres = np.vstack([centres, x[rng.choice(len(x), p=d / d.sum())]])
        for _ in range(50):
            labels = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
            moved = np.array(
                [x[labels == j].mean(0) if np.any(labels == j) else centres[j] for j in range(k)]
            )
            if np.allclose(moved, centres):
                break
            centres = moved
        cost = float(((x - centres[labels]) ** 2).sum())
        if cost < best_cost:
            best, best_cost = labels, cost
    return best


def _centres(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    centres = np.zeros((k, x.shape[1]), dtype=np.float32)
    for j in range(k):
        members = x[labels == j]
        if len(members):
            mean = members.mean(axis=0)
            centres[j] = mean / (np.linalg.norm(mean) + 1e-9)
    return centres


def _check_distinct(centres: np.ndarray, labels: np.ndarray, k: int) -> None:
    similarity = centres @ centres.T
    closest = max(similarity[i, j] for i in range(k) for j in range(i + 1, k))
    smallest = min(int(np.sum(labels == j)) for j in range(k))
    if closest >= SAME_VOICE_SIMILARITY or smallest < 2:
        raise AudioError(
            f"found only one distinct voice where {k} speakers were expected "
            f"(closest voices {closest:.2f} alike); use --speakers 1 for a monologue"
        )


def label_at(times: list[float], centres: np.ndarray, labels: np.ndarray) -> list[int]:
    """The label of the window whose centre is nearest each time."""
    if not len(centres):
        return [0] * len(times)
    order = np.argsort(centres)
    sorted_c, sorted_l = centres[order], labels[order]
    idx = np.clip(np.searchsorted(sorted_c, times), 1, len(sorted_c) - 1)
    left_closer = np.abs(np.asarray(times) - sorted_c[idx - 1]) <= np.abs(sorted_c[idx] - times)
    nearest = np.where(left_closer, idx - 1, idx)
    if len(sorted_c) == 1:
        nearest = np.zeros(len(times), dtype=int)
    return [int(sorted_l[i]) for i in nearest]

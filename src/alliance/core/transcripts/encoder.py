"""Sentence encoder: all-MiniLM-L6-v2 as released, run with onnxruntime.

Why: the transcript models need a semantic view of each utterance that runs offline on a
plain CPU, without PyTorch. The default pack ships the released model (Apache-2.0; not
fine-tuned, so no data terms attach to it) re-quantised to dynamic int8 (real integer
matmuls, ~2x faster than fp32 arithmetic), plus the WordPiece tokenizer;
``training/train_transcript_models.py`` rebuilds it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from alliance.core.errors import AllianceError
from alliance.core.transcripts.packs import DEFAULT, MODELS_DIR

ONNX_PATH = MODELS_DIR / DEFAULT / "minilm-l6-q8.onnx"
TOKENIZER_PATH = MODELS_DIR / DEFAULT / "tokenizer.json"
DIM = 384
MAX_TOKENS = 128
#: Token cap for transcript utterances: shorter than EPITOME posts, and speed matters there.
DIALOGUE_TOKENS = 64
BATCH_SIZE = 32


def threads_from_environment() -> int:
    """``ALLIANCE_THREADS`` (threads for model inference), 0 when unset; a bad value is an error
    that names the variable rather than a bare ``ValueError`` deep in a worker."""
    raw = os.environ.get("ALLIANCE_THREADS", "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 256:
        raise AllianceError(f"ALLIANCE_THREADS must be a whole number from 1 to 256, not {raw!r}")
    return int(raw)


class Encoder:
    """Mean-pooled, L2-normalised MiniLM embeddings, batched by token length."""

    def __init__(
        self,
        model_path: Path | None = None,
        threads: int | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.max_tokens = max_tokens
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        n = threads or threads_from_environment() or (os.cpu_count() or 1)
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
        path = model_path or ONNX_PATH
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embed ``texts`` into an (n, 384) float32 array of unit vectors.

        Repeated texts ("Yeah.", "Okay." are a quarter of AnnoMI) are encoded once."""
        unique = list(dict.fromkeys(t or "" for t in texts))
        if len(unique) < len(texts):
            where = {t: i for i, t in enumerate(unique)}
            return self.encode(unique, batch_size)[[where[t or ""] for t in texts]]
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encs = self.tokenizer.encode_batch(list(unique))
        order = np.argsort([len(e.ids) for e in encs], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([encs[i].ids for i in idx])
        return out

    def hidden_states(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Last-layer token states of a batch of token-id lists (padded) and the padding mask."""
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feeds)[0], mask

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        hidden, mask = self.hidden_states(batch)
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@lru_cache(maxsize=4)
def get_encoder(threads: int | None = None, max_tokens: int = MAX_TOKENS) -> Encoder:
    """A process-wide encoder, loaded once (model load is the slow part of a short run)."""
    return Encoder(threads=threads, max_tokens=max_tokens)

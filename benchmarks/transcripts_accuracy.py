"""Grouped 5-fold cross-validation of the transcript models on ../shared/datasets.

Usage:
    python benchmarks/transcripts_accuracy.py --packs           # the shipped packs
    python benchmarks/transcripts_accuracy.py --folds-dir DIR   # a fine-tuned encoder
    python benchmarks/transcripts_accuracy.py --baseline        # frozen base encoder
    python benchmarks/transcripts_accuracy.py --baseline --random-split   # published protocol

Whole AnnoMI transcripts and whole EPITOME seeker posts are held out together (never a random
utterance split). ``--packs`` measures the shipped packs (the released encoder, on the
folds that fine-tuning used, ``grouped_folds``) beside the previous release (``PREVIOUS``:
fine-tuned encoder I, non-commercial), and the MI-quality estimate with and without the
empathy features. ``--folds-dir`` takes the per-fold embeddings written on a GPU by
``training/finetune_encoder.py cv --dump`` (each fold's encoder fine-tuned without that fold)
and fits the heads per fold, exactly as shipped. ``--baseline`` measures the same heads on the
frozen base encoder (no fine-tuning); with ``--random-split`` it holds out random utterances
and pairs instead, as the published baselines did, to show how much of the gap to them is the
split. Prints macro-F1 per task and the AUC of the session
MI-quality estimate, whose features come from out-of-fold utterance predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_transcript_models as tt

from alliance.core.transcripts import coding, packs

#: Grouped-CV macro-F1 of the previous release (encoder fine-tuned on AnnoMI + EPITOME + ESConv,
#: configuration I; docs/transcripts.md), for the packs' comparison.
PREVIOUS = {
    "therapist_behaviour": 0.775,
    "client_talk": 0.527,
    "reflection": 0.635,
    "question": 0.777,
    "emotional_reactions": 0.762,
    "interpretations": 0.593,
    "explorations": 0.718,
    "mi_quality": 0.923,
}
BASELINES = {
    "therapist_behaviour": 0.72,
    "client_talk": 0.58,
    "emotional_reactions": 0.74,
    "interpretations": 0.67,
    "explorations": 0.73,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds-dir", type=Path, help="per-fold fine-tuned embeddings")
    parser.add_argument("--baseline", action="store_true", help="frozen base encoder instead")
    parser.add_argument("--packs", action="store_true", help="the shipped packs vs PREVIOUS")
    parser.add_argument("--tasks", default="", help="baseline: only these tasks")
    parser.add_argument(
        "--random-split",
        action="store_true",
        help="baseline: random utterance/pair folds (the published protocol), not grouped",
    )
    parser.add_argument("--set", action="append", default=[], help="NAME=C,ALPHA")
    parser.add_argument(
        "--tune",
        action="store_true",
        help="baseline: also report per-class offsets tuned in nested CV (not shipped)",
    )
    args = parser.parse_args()
    for item in args.set:
        name, vals = item.split("=")
        c, alpha = (float(v) for v in vals.split(","))
        tt.SETTINGS[name] = (c, alpha)
    if not args.baseline and not args.folds_dir and not args.packs:
        parser.error("give --packs, --folds-dir DIR (fine-tuned) or --baseline")
    annomi, epitome = tt.load_annomi(), tt.load_epitome()
    if args.packs:
        shipped_packs(annomi, epitome)
    elif args.folds_dir:
        shipped(annomi, epitome, args.folds_dir)
    else:
        baseline(annomi, epitome, args)


def line(name: str, y: np.ndarray, proba: np.ndarray, extra: str = "") -> None:
    from sklearn.metrics import f1_score

    labels = coding.HEADS[name]
    pred = np.array(labels)[proba.argmax(axis=1)]
    f1 = f1_score(y, pred, average="macro")
    per = f1_score(y, pred, average=None, labels=list(labels))
    target = BASELINES.get(name)
    print(
        f"{name:22s} macro-F1 {f1:.3f}{extra}"
        + (f" (target {target}{' met' if f1 >= target else ''})" if target else "")
        + "  per class "
        + " ".join(f"{lab}={v:.2f}" for lab, v in zip(labels, per, strict=True))
        + f"  [C, alpha = {tt.SETTINGS[name]}]",
        flush=True,
    )


def mi_quality(
    annomi: tt.AnnoMI, probs: dict[str, np.ndarray], rows: dict[str, np.ndarray]
) -> None:
    tids, x = tt.session_matrix(annomi, probs, rows)
    y = np.array([annomi.quality[t] == "high" for t in tids])
    auc, sd = tt.mi_quality_auc(x, y)
    print(
        f"MI quality (session)   AUC {auc:.3f} +- {sd:.3f} "
        f"({len(y)} transcripts, {int((~y).sum())} low; 5x repeated 5-fold)"
    )


def shipped(annomi: tt.AnnoMI, epitome: tt.Epitome, folds_dir: Path) -> None:
    t0 = time.time()
    oof = tt.stacked_oof(annomi, epitome, folds_dir)
    for task in tt.tasks(annomi, epitome, tt.Embeddings.load(folds_dir / "emb_fold1.npz")):
        line(task.name, task.y, oof.proba[task.name])
    mi_quality(annomi, oof.session, oof.session_rows)
    print(f"({time.time() - t0:.0f}s)")


def shipped_packs(annomi: tt.AnnoMI, epitome: tt.Epitome) -> None:
    """Grouped CV of the packs as shipped, each code beside the previous release."""
    t0 = time.time()
    emb = tt.Embeddings.of(annomi, epitome, tt.base_encoder())
    oof = tt.stacked_oof(annomi, epitome, None, frozen=emb)
    for task in tt.tasks(annomi, epitome, emb):
        pack = packs.pack_of(task.name).name
        f1 = _macro(task.name, task.y, oof.proba[task.name])
        line(
            task.name,
            task.y,
            oof.proba[task.name],
            f" [{pack}; previous {PREVIOUS[task.name]}, change {f1 - PREVIOUS[task.name]:+.3f}]",
        )
    tids, x = tt.session_matrix(annomi, oof.session, oof.session_rows)
    y = np.array([annomi.quality[t] == "high" for t in tids])
    for label, cols in (
        ("default pack, no empathy features", tt.MI_QUALITY_COLUMNS),
        ("with the research pack's empathy features", list(range(x.shape[1]))),
    ):
        auc, sd = tt.mi_quality_auc(x[:, cols], y)
        print(
            f"MI quality (session)   AUC {auc:.3f} +- {sd:.3f} ({label}; previous "
            f"{PREVIOUS['mi_quality']}, change {auc - PREVIOUS['mi_quality']:+.3f})"
        )
    print(f"({time.time() - t0:.0f}s)")


def _macro(name: str, y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    labels = coding.HEADS[name]
    return float(f1_score(y, np.array(labels)[proba.argmax(axis=1)], average="macro"))


def baseline(annomi: tt.AnnoMI, epitome: tt.Epitome, args: argparse.Namespace) -> None:
    from sklearn.metrics import f1_score

    wanted = set(args.tasks.split(",")) - {""}
    probs, rows, empathy = {}, {}, {}
    emb = tt.Embeddings.of(annomi, epitome, tt.base_encoder())
    all_tasks = tt.tasks(annomi, epitome, emb)
    for task in all_tasks:
        if wanted and task.name not in wanted:
            continue
        if args.random_split:
            task = dataclasses.replace(task, groups=np.arange(len(task.rows)))
        p, tuned = tt.oof_proba(task, tune=args.tune)
        labels = coding.HEADS[task.name]
        f1_tuned = f1_score(task.y, np.array(labels)[tuned.argmax(axis=1)], average="macro")
        line(
            task.name,
            task.y,
            p,
            f" (offsets tuned in nested CV: {f1_tuned:.3f})" if args.tune else "",
        )
        if task.ctx is all_tasks[0].ctx:
            probs[task.name], rows[task.name] = p, task.rows
        else:
            empathy[task.name] = task
    # EPITOME heads trained on all of EPITOME score AnnoMI counselor turns (no AnnoMI leakage).
    ectx = tt.empathy_context(annomi, all_tasks[0].ctx)
    counselor = np.flatnonzero(np.array(annomi.speaker) == "therapist")
    for name, task in empathy.items():
        probs[name] = tt.fit_head(task).predict_proba(ectx, counselor)
        rows[name] = counselor
    if {"therapist_behaviour", "client_talk"} <= probs.keys() and not args.random_split:
        mi_quality(annomi, probs, rows)


if __name__ == "__main__":
    main()

"""Grouped 5-fold cross-validation of the transcript models on ../shared/datasets.

Usage:  python benchmarks/transcripts_accuracy.py [--tasks NAME,...] [--set NAME=C,ALPHA ...]

Whole AnnoMI transcripts and whole EPITOME seeker posts are held out together (never a random
utterance split). Prints macro-F1 per task and the AUC of the session MI-quality estimate,
whose features come from out-of-fold utterance predictions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_transcript_models as tt

from alliance.core.transcripts import coding

BASELINES = {
    "therapist_behaviour": 0.72,
    "client_talk": 0.58,
    "emotional_reactions": 0.74,
    "interpretations": 0.67,
    "explorations": 0.73,
}


def main() -> None:
    from sklearn.metrics import f1_score

    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument(
        "--tune",
        action="store_true",
        help="also report per-class offsets tuned in nested CV (not shipped)",
    )
    args = parser.parse_args()
    for item in args.set:
        name, vals = item.split("=")
        c, alpha = (float(v) for v in vals.split(","))
        tt.SETTINGS[name] = (c, alpha)
    annomi, epitome = tt.load_annomi(), tt.load_epitome()
    wanted = set(args.tasks.split(",")) - {""}
    probs, rows, empathy = {}, {}, {}
    all_tasks = tt.tasks(annomi, epitome)
    for task in all_tasks:
        if wanted and task.name not in wanted:
            continue
        t0 = time.time()
        p, tuned = tt.oof_proba(task, tune=args.tune)
        labels = coding.HEADS[task.name]
        pred = np.array(labels)[p.argmax(axis=1)]
        f1_tuned = f1_score(task.y, np.array(labels)[tuned.argmax(axis=1)], average="macro")
        f1 = f1_score(task.y, pred, average="macro")
        per = f1_score(task.y, pred, average=None, labels=list(labels))
        target = BASELINES.get(task.name)
        extra = f" (offsets tuned in nested CV: {f1_tuned:.3f})" if args.tune else ""
        print(
            f"{task.name:22s} macro-F1 {f1:.3f}{extra}"
            + (f" (target {target})" if target else "")
            + "  per class "
            + " ".join(f"{lab}={v:.2f}" for lab, v in zip(labels, per, strict=True))
            + f"  [{tt.SETTINGS[task.name]}, {time.time() - t0:.0f}s]",
            flush=True,
        )
        if task.groups[0] == annomi.tid[task.rows[0]]:
            probs[task.name], rows[task.name] = p, task.rows
        else:
            empathy[task.name] = task
    # EPITOME heads trained on all of EPITOME score AnnoMI counselor turns (no AnnoMI leakage).
    ectx = tt.empathy_context(annomi, all_tasks[0].ctx)
    counselor = np.flatnonzero(np.array(annomi.speaker) == "therapist")
    for name, task in empathy.items():
        probs[name] = tt.fit_head(task).predict_proba(ectx, counselor)
        rows[name] = counselor
    if {"therapist_behaviour", "client_talk"} <= probs.keys():
        tids, x = tt.session_matrix(annomi, probs, rows)
        y = np.array([annomi.quality[t] == "high" for t in tids])
        auc, sd = tt.mi_quality_auc(x, y)
        print(
            f"MI quality (session)   AUC {auc:.3f} +- {sd:.3f} "
            f"({len(y)} transcripts, {int((~y).sum())} low; 5x repeated 5-fold)"
        )


if __name__ == "__main__":
    main()

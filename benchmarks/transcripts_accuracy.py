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

BASELINES = {"therapist_behaviour": 0.72, "client_talk": 0.58, "emotional_reactions": 0.74,
             "interpretations": 0.67, "explorations": 0.73}


def main() -> None:
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    for item in args.set:
        name, vals = item.split("=")
        c, alpha = (float(v) for v in vals.split(","))
        tt.SETTINGS[name] = (c, alpha)
    annomi, epitome = tt.load_annomi(), tt.load_epitome()
    wanted = set(args.tasks.split(",")) - {""}
    probs, rows = {}, {}
    for task in tt.tasks(annomi, epitome):
        if wanted and task.name not in wanted:
            continue
        t0 = time.time()
        p = tt.oof_proba(task)
        labels = coding.HEADS[task.name]
        pred = np.array(labels)[p.argmax(axis=1)]
        f1 = f1_score(task.y, pred, average="macro")
        per = f1_score(task.y, pred, average=None, labels=list(labels))
        target = BASELINES.get(task.name)
        print(f"{task.name:22s} macro-F1 {f1:.3f}" + (f" (target {target})" if target else "")
              + "  per class " + " ".join(f"{lab}={v:.2f}" for lab, v in
                                          zip(labels, per, strict=True))
              + f"  [{tt.SETTINGS[task.name]}, {time.time() - t0:.0f}s]", flush=True)
        if task.groups[0] == annomi.tid[task.rows[0]]:
            probs[task.name], rows[task.name] = p, task.rows
    if {"therapist_behaviour", "client_talk"} <= probs.keys():
        tids, x = tt.session_matrix(annomi, probs, rows)
        y = np.array([annomi.quality[t] == "high" for t in tids])
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression(
            C=0.3, class_weight="balanced", max_iter=1000))
        aucs = []
        for seed in range(5):
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            s = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
            aucs.append(roc_auc_score(y, s))
        print(f"MI quality (session)   AUC {np.mean(aucs):.3f} +- {np.std(aucs):.3f} "
              f"({len(y)} transcripts, {int((~y).sum())} low; 5x repeated 5-fold)")


if __name__ == "__main__":
    main()

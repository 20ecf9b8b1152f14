"""Head-level ideas for the codes still short of their baselines, measured and not shipped.

Usage:
    python benchmarks/transcripts_experiments.py two-stage --folds-dir DIR  # client talk
    python benchmarks/transcripts_experiments.py late    # EPITOME, token-level alignment
    python benchmarks/transcripts_experiments.py pair    # EPITOME, response read after the post
    python benchmarks/transcripts_experiments.py pair-speed [--threads 2]   # what a pair costs

``two-stage`` adds a second logistic regression over the first stage's out-of-fold client-talk
probabilities of the neighbouring client turns and the session mean (a sequence model in two
steps), on the per-fold fine-tuned embeddings of ``finetune_encoder.py cv --dump``.
``late`` adds token-level seeker/response alignment features (each response token's best
cosine to a seeker token, summarised; the attention-pooled seeker tokens) computed from the
encoder's token states, which the runtime already has. ``pair`` adds the embedding of the
response tokens encoded after the seeker post in one sequence (a cross-encoder, frozen).
``late`` and ``pair`` use the frozen base encoder: the per-fold fine-tuned encoders are not
kept, only their pooled embeddings. Grouped 5-fold CV as everywhere; figures in
docs/transcripts.md. ``pair-speed`` times the shipped encoder on 3,000 AnnoMI utterances as
it runs now, with each counselor turn read after the client's last turn (its last 32 pieces)
instead, and with both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_transcript_models as tt

from alliance.core.transcripts import coding, encoder


def grouped_f1(task: tt.Task, extra: np.ndarray, weight: float) -> float:
    """Macro-F1 of the shipped head's features plus ``extra`` * ``weight``, grouped 5-fold."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedGroupKFold

    c, alpha = tt.SETTINGS[task.name]
    x = sparse.hstack(
        [tt.matrix(task.ctx, task.rows, alpha), sparse.csr_matrix(extra * weight)], format="csr"
    )
    pred = np.empty(len(task.y), dtype=object)
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in cv.split(task.rows, task.y, task.groups):
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=300)
        pred[test] = lr.fit(x[train], task.y[train]).predict(x[test])
    return float(f1_score(task.y, pred.astype(str), average="macro"))


def token_states(enc: encoder.Encoder, ids: list[list[int]]) -> list[np.ndarray]:
    """Unit-length last-layer states of each sequence's word pieces (no [CLS]/[SEP])."""
    out: list[np.ndarray] = [np.zeros((1, encoder.DIM))] * len(ids)
    order = np.argsort([len(s) for s in ids])
    for start in range(0, len(order), 64):
        idx = order[start : start + 64]
        hidden, _ = enc.hidden_states([ids[i] for i in idx])
        for j, i in enumerate(idx):
            v = hidden[j, 1 : max(2, len(ids[i]) - 1)]
            out[i] = v / np.linalg.norm(v, axis=1, keepdims=True).clip(min=1e-9)
    return out


def late_features(r: np.ndarray, s: np.ndarray) -> np.ndarray:
    sim = r @ s.T
    best_r, best_s = sim.max(axis=1), sim.max(axis=0)
    att = np.exp(10 * sim)
    att /= att.sum(axis=1, keepdims=True)
    seeker_ctx = (att @ s).mean(axis=0)
    stats = [best_r.mean(), best_r.max(), np.sort(best_r)[-3:].mean()]
    stats += [(best_r > t).mean() for t in (0.6, 0.7, 0.8)]
    stats += [best_s.mean(), (best_s > 0.6).mean(), (best_s > 0.7).mean()]
    stats += [len(r) / 50, len(s) / 100]
    return np.r_[np.array(stats), seeker_ctx, seeker_ctx * r.mean(axis=0)]


def empathy(kind: str) -> None:
    annomi, epitome = tt.load_annomi(), tt.load_epitome()
    model = tt.base_encoder()
    enc = encoder.Encoder(model_path=model, max_tokens=encoder.MAX_TOKENS)
    enc.tokenizer.enable_truncation(max_length=encoder.MAX_TOKENS)
    seeker = [e.ids for e in enc.tokenizer.encode_batch(epitome.seeker)]
    response = [e.ids for e in enc.tokenizer.encode_batch(epitome.response)]
    if kind == "late":
        s_states, r_states = token_states(enc, seeker), token_states(enc, response)
        extra = np.array([late_features(r, s) for r, s in zip(r_states, s_states, strict=True)])
        extra = (extra - extra.mean(0)) / (extra.std(0) + 1e-6)
        weights = [0.0, 0.005, 0.015]
    else:
        # [CLS] last 96 pieces of the post [SEP] first 64 of the response [SEP]
        tails = [s[1:-1][-96:] for s in seeker]
        joined = [[101, *t, 102, *r[1:-1][:64], 102] for t, r in zip(tails, response, strict=True)]
        states = token_states(enc, joined)  # states[i][j] is piece j + 1 of joined[i]
        extra = np.array(
            [st[len(t) + 1 :].mean(axis=0) for st, t in zip(states, tails, strict=True)]
        )
        extra /= np.linalg.norm(extra, axis=1, keepdims=True).clip(min=1e-9)
        weights = [0.0, 0.5, 1.0]
    emb = tt.Embeddings.of(annomi, epitome, model)
    for task in tt.tasks(annomi, epitome, emb):
        if task.name in coding.EMPATHY_HEADS:
            scores = ", ".join(f"{w}: {grouped_f1(task, extra, w):.3f}" for w in weights)
            print(f"{task.name:22s} macro-F1 by weight of the {kind} block: {scores}", flush=True)


def two_stage(folds_dir: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    annomi, epitome = tt.load_annomi(), tt.load_epitome()
    tids = list(dict.fromkeys(annomi.tid))
    splits = tt.grouped_folds(
        tids,
        [annomi.quality[t] for t in tids],
        epitome.sp_id,
        epitome.levels["emotional_reactions"],
    )
    labels = np.array(coding.HEADS["client_talk"])
    ys, first, second = [], [], []
    for k, (test_t, _) in enumerate(splits):
        emb = tt.Embeddings.load(folds_dir / f"emb_fold{k + 1}.npz")
        task = next(t for t in tt.tasks(annomi, epitome, emb) if t.name == "client_talk")
        test = np.isin(task.groups, [tids[i] for i in test_t])
        train, held = np.flatnonzero(~test), np.flatnonzero(test)
        proba = np.zeros((len(task.rows), len(labels)))
        for inner_train, inner_test in GroupKFold(5).split(train, groups=task.groups[train]):
            head = tt.fit_head(task, train[inner_train])
            proba[train[inner_test]] = head.predict_proba(task.ctx, task.rows[train[inner_test]])
        proba[held] = tt.fit_head(task, train).predict_proba(task.ctx, task.rows[held])
        x = neighbour_features(task, proba)
        lr = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000)
        second.append(lr.fit(x[train], task.y[train]).predict(x[held]))
        first.append(labels[proba[held].argmax(axis=1)])
        ys.append(task.y[held])
    y = np.concatenate(ys)
    for name, pred in (("first stage", first), ("two stages", second)):
        print(
            f"client_talk {name}: macro-F1 {f1_score(y, np.concatenate(pred), average='macro'):.3f}"
        )


def neighbour_features(task: tt.Task, proba: np.ndarray) -> np.ndarray:
    """Log-probabilities of the turn, the two previous and the next client turn of its
    session, and the mean of the session's other client turns."""
    n, k = proba.shape
    prev, prev2, nxt, mean = (np.full((n, k), 1e-3) for _ in range(4))
    for group in np.unique(task.groups):
        idx = np.flatnonzero(task.groups == group)
        idx = idx[np.argsort(task.rows[idx])]
        p = proba[idx]
        prev[idx[1:]], prev2[idx[2:]], nxt[idx[:-1]] = p[:-1], p[:-2], p[1:]
        mean[idx] = (p.sum(axis=0) - p) / max(1, len(idx) - 1) + 1e-3
    return np.log(np.hstack([proba + 1e-4, prev, prev2, nxt, mean]))


def pair_speed(threads: int) -> None:
    import time

    annomi = tt.load_annomi()
    n = 3000
    texts, speakers, tids = annomi.text[:n], annomi.speaker[:n], annomi.tid[:n]
    enc = encoder.Encoder(threads=threads, max_tokens=encoder.DIALOGUE_TOKENS)
    pieces = [e.ids for e in enc.tokenizer.encode_batch(texts)]
    single = list({tuple(p): None for p in pieces})  # the runtime encodes repeats once
    pairs, clients, last = [], [], None
    for i, (ids, who) in enumerate(zip(pieces, speakers, strict=True)):
        if i and tids[i] != tids[i - 1]:
            last = None
        if who == "client":
            clients.append(tuple(ids))
            last = ids
        else:
            pairs.append(tuple([101, *(last or [101, 102])[1:-1][-32:], 102, *ids[1:]]))
    variants = {
        "as shipped": single,
        "counselor turns read after the client's": list(dict.fromkeys(clients)) + pairs,
        "both": single + pairs,
    }
    enc._run([list(single[0])])  # warm-up
    for name, seqs in variants.items():
        order = np.argsort([len(s) for s in seqs], kind="stable")
        t0 = time.perf_counter()
        for start in range(0, len(order), encoder.BATCH_SIZE):
            enc._run([list(seqs[i]) for i in order[start : start + encoder.BATCH_SIZE]])
        took = time.perf_counter() - t0
        print(f"{name:42s} {len(seqs):5d} sequences, encoder {n / took:5.0f} utterances/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=["two-stage", "late", "pair", "pair-speed"])
    parser.add_argument("--threads", type=int, default=2, help="pair-speed: CPU threads")
    parser.add_argument("--folds-dir", type=Path, help="two-stage: per-fold embeddings")
    args = parser.parse_args()
    if args.experiment == "two-stage":
        if not args.folds_dir:
            parser.error("two-stage needs --folds-dir")
        two_stage(args.folds_dir)
    elif args.experiment == "pair-speed":
        pair_speed(args.threads)
    else:
        empathy(args.experiment)


if __name__ == "__main__":
    main()

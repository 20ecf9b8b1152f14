#!/usr/bin/env bash
# One GPU round of training/finetune_encoder.py, sized for a short lease on one GPU with
# 16 CPU cores: the grouped CV of several configurations at once (one process per fold, as
# the work is bound by each process's Python, not by the GPU), the final fit of every
# configuration beside them, then the best configuration (mean macro-F1 of the five
# targeted heads) is copied to $OUT: its five fold embeddings, its final layers and a
# tarball of every log, score and out-of-fold prediction.
#
# Usage: training/gpu_round.sh DATA.json.gz CONFIG...   (writes to $OUT, default /tmp/out)
# DATA is written by `finetune_encoder.py prepare` on a machine with ../shared/datasets.
# CONTROL (default I, the shipped configuration) is cross-validated beside the others as the
# bar to beat, but gets no final fit and is never picked: its layers already ship.
set -u
data=$1
shift
out=${OUT:-/tmp/out}
work=/tmp/ft-round
cv_limit=${CV_LIMIT:-330}
mkdir -p "$work" "$out"
export ALLIANCE_THREADS=1 OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
ft="python3 training/finetune_encoder.py --data $data ${FT_ARGS:-}"

# Each process holds 5-8 GB of GPU memory: 23 at once ran an H200 (139 GB) out of memory,
# so at most MAX_JOBS run together (16 on an H200, about 10 on an H100).
max_jobs=${MAX_JOBS:-16}
control=${CONTROL:-I}
slot() { while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do sleep 2; done; }

# The fp32 base graph, once, before the parallel runs would all build it.
$ft check --out "$work/x" >"$work/check.log" 2>&1 || { cat "$work/check.log"; exit 1; }
for c in "$@"; do
    for k in 1 2 3 4 5; do
        slot
        timeout "$cv_limit" $ft cv --config "$c" --fold "$k" --dump --out "$work/$c" \
            >"$work/$c-fold$k.log" 2>&1 &
    done
done
for c in "$@"; do
    if [ "$c" != "$control" ]; then
        slot
        timeout "$cv_limit" $ft final --config "$c" --out "$work/final-$c" \
            >"$work/$c-final.log" 2>&1 &
    fi
done
wait
best="" best_score=0
for c in "$@"; do
    $ft merge --config "$c" --out "$work/$c" >"$work/$c-merge.log" 2>&1
    score=$(cat "$work/$c/score.txt" 2>/dev/null || echo 0)
    echo "config $c: $score ($(ls "$work/$c"/pred_fold*.npz 2>/dev/null | wc -l) folds)"
    if [ "$c" != "$control" ] && python3 -c "import sys; sys.exit(not $score > $best_score)"; then
        best=$c best_score=$score
    fi
done
echo "best: ${best:-none} ($best_score)"
cat "$work"/*-merge.log
if [ -n "$best" ]; then
    cp "$work/$best"/emb_fold*.npz "$work/final-$best"/layers_*.npz "$out/" 2>/dev/null
    echo "$best" >"$work/best.txt"
fi
tar czf "$out/round.tgz" -C "$work" --exclude='*.onnx' --exclude='emb_fold*' \
    --exclude='layers_*' .
ls -la "$out"

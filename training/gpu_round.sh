#!/usr/bin/env bash
# One GPU round of training/finetune_encoder.py (the shipped configuration), sized for a short
# lease on one GPU with 16 CPU cores: the five folds of the grouped CV and the final fit side
# by side (one process each, as the work is bound by each process's Python, not by the GPU),
# then the fold embeddings and the final layers are copied to $OUT with a tarball of every
# log, score and out-of-fold prediction.
#
# Usage: training/gpu_round.sh DATA.json.gz   (writes to $OUT, default /tmp/out)
# DATA is written by `finetune_encoder.py prepare` on a machine with ../shared/datasets.
set -u
data=$1
out=${OUT:-/tmp/out}
work=/tmp/ft-round
cv_limit=${CV_LIMIT:-330}
mkdir -p "$work" "$out"
export ALLIANCE_THREADS=1 OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
ft="python3 training/finetune_encoder.py --data $data ${FT_ARGS:-}"

# The fp32 base graph, once, before the parallel runs would all build it.
$ft check --out "$work/x" >"$work/check.log" 2>&1 || { cat "$work/check.log"; exit 1; }
for k in 1 2 3 4 5; do
    timeout "$cv_limit" $ft cv --fold "$k" --dump --out "$work/cv" >"$work/fold$k.log" 2>&1 &
done
timeout "$cv_limit" $ft final --out "$work/final" >"$work/final.log" 2>&1 &
wait
$ft merge --out "$work/cv" >"$work/merge.log" 2>&1
echo "score: $(cat "$work/cv/score.txt" 2>/dev/null) ($(ls "$work/cv"/pred_fold*.npz 2>/dev/null | wc -l) folds)"
cat "$work/merge.log"
cp "$work/cv"/emb_fold*.npz "$work/final"/layers_*.npz "$out/" 2>/dev/null
tar czf "$out/round.tgz" -C "$work" --exclude='*.onnx' --exclude='emb_fold*' \
    --exclude='layers_*' .
ls -la "$out"

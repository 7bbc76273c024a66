#!/usr/bin/env bash
# A SLURM job array that scans both planes of the default analysis on a large grid, one shard
# per array task, then merges. Submit with:  bash examples/slurm_array.sh
# (it calls sbatch twice: the array, and a merge job that waits for it).
#
# Every task writes finished chunks atomically into the shared folder $SCAN; a task that is
# killed or requeued continues where it stopped (--resume), and merge refuses to run while
# any chunk is missing or was made with another config or dataset.
set -euo pipefail

SHARDS=${SHARDS:-16}                 # array size = number of shards
GRID=${GRID:-4001}                   # points per axis (16 M chi2 points per plane)
SCAN=${SCAN:-scans/paper-4001}       # checkpoint folder on a shared file system
OUT=${OUT:-results/paper-4001}       # merged results
CONFIG=${CONFIG:-}                   # optional TOML overriding the packaged default

cfg=()
[ -n "$CONFIG" ] && cfg=(--config "$CONFIG")

array_id=$(sbatch --parsable --job-name=cevns-scan --array=1-"$SHARDS" \
  --cpus-per-task=4 --mem=4G --time=00:20:00 --requeue \
  --wrap "set -e; for plane in e-mu e-tau; do \
            cevns-scan scan ${cfg[*]} --grid $GRID --plane \$plane \
              --shard \${SLURM_ARRAY_TASK_ID}/$SHARDS --out $SCAN \
              --jobs \${SLURM_CPUS_PER_TASK} --resume --quiet; \
          done")

sbatch --job-name=cevns-merge --dependency=afterok:"$array_id" --time=00:10:00 \
  --wrap "cevns-scan merge $SCAN --out $OUT"
echo "submitted array $array_id ($SHARDS shards) and its merge; results will be in $OUT"

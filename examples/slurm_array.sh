#!/usr/bin/env bash
# A SLURM job array that scans both planes of the default analysis on a large grid, one shard
# per array task, then merges. Submit with:  bash examples/slurm_array.sh
# (it calls sbatch twice: the array, and a merge job that runs when the array has ended).
# The toy-MC Neyman construction runs the same way:
#   COMMAND=neyman TOYS=1000 GRID=51 SHARDS=16 SCAN=scans/neyman OUT=results/neyman \
#     bash examples/slurm_array.sh
# (add DATA=xenonnt-8b for the XENONnT release). The global fit of XENONnT and COHERENT
# (its Neyman toys cost ~10-20 ms each: 2.6 M toys for 51 x 51 x 1000):
#   COMMAND=neyman TOYS=1000 GRID=51 SHARDS=64 PLANES=e-mu TIME=01:00:00 \
#     DATA="xenonnt-8b /data/coherent/lar2020 /data/coherent/csi2021" \
#     SCAN=scans/global OUT=results/global bash examples/slurm_array.sh
#
# Every task writes finished chunks atomically into the shared folder $SCAN; a task that is
# killed or requeued continues where it stopped (--resume). The merge job starts when every
# task has ended, whether or not it succeeded (afterany), so one failed task cannot leave it
# pending forever; merge then refuses with one line naming the missing shard(s), and the job
# log says which tasks to rerun (the same sbatch line with --array=K).
set -euo pipefail

SHARDS=${SHARDS:-16}                 # array size = number of shards
GRID=${GRID:-4001}                   # points per axis (16 M chi2 points per plane)
SCAN=${SCAN:-scans/paper-4001}       # checkpoint folder on a shared file system
OUT=${OUT:-results/paper-4001}       # merged results
CONFIG=${CONFIG:-}                   # optional TOML overriding the packaged default
VENV=${VENV:-$PWD/.venv}             # the environment where cevns-scan is installed
COMMAND=${COMMAND:-scan}             # scan (Wilks maps) or neyman (maps + toy critical values)
TOYS=${TOYS:-1000}                   # neyman: pseudo-experiments per grid point
SEED=${SEED:-0}                      # neyman: each point's toys come from (seed, point index)
DATA=${DATA:-}                       # optional --data, several separated by spaces
PLANES=${PLANES:-e-mu e-tau}         # planes each task scans
TIME=${TIME:-00:20:00}               # wall-time limit of one array task

cfg=()
[ -n "$CONFIG" ] && cfg=(--config "$CONFIG")
for d in $DATA; do cfg+=(--data "$d"); done
[ "$COMMAND" = neyman ] && cfg+=(--toys "$TOYS" --seed "$SEED")
activate="source '$VENV/bin/activate'"

array_id=$(sbatch --parsable --job-name=cevns-scan --array=1-"$SHARDS" \
  --cpus-per-task=4 --mem=4G --time="$TIME" --requeue \
  --wrap "set -e; $activate; for plane in $PLANES; do \
            cevns-scan $COMMAND ${cfg[*]} --grid $GRID --plane \$plane \
              --shard \${SLURM_ARRAY_TASK_ID}/$SHARDS --out $SCAN \
              --jobs \${SLURM_CPUS_PER_TASK} --resume --quiet; \
          done")

sbatch --job-name=cevns-merge --dependency=afterany:"$array_id" --time=00:10:00 \
  --wrap "set -e; $activate; \
          cevns-scan merge $SCAN --out $OUT --force \
          || { echo 'merge refused: rerun the shards it names, then merge again' >&2; exit 1; }"
echo "submitted array $array_id ($SHARDS shards) and its merge; results will be in $OUT"

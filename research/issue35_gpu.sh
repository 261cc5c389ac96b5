#!/usr/bin/env bash
# Issue 35 part 7, in one device command: the shipped recipe's synthetic-only base trained for
# as many steps as fit at a larger batch on a GPU (renderer workers on the machine's cores), then
# the three fold fine-tunes and the all-30 fine-tune (all four at once, the shipped recipe
# unchanged), the fold rule's figures, and the models under $OUT for scoring on CPU
# (docs/experiments/session27_gpu.md holds the rule, written before the figures).
#
# On the device machine (after carrying .whl and .gpu_data, see session27_gpu.md):
#   pip install --target /tmp/site .whl/*.whl; PYTHONPATH=/tmp/site bash research/issue35_gpu.sh
# The same script on CPU for a few steps (its test before any device time is spent):
#   OUT=/tmp/gpu_out DEVICE=cpu WORKERS=1 FT_WORKERS=1 BATCH=4 CALIB_STEPS=24 BASE_SECONDS=10 \
#   MIN_BASE_STEPS=4 STEP_ROUND=2 BASE_END_S=900 FT_STEPS=2 FT_TIMEOUT_S=900 SCORE_TIMEOUT_S=900 \
#   bash research/issue35_gpu.sh
#
# Everything is bounded in time: the base gets the steps that its measured wall-clock rate fits
# in BASE_SECONDS; each later phase has a timeout; a failed phase is reported and what is done
# still comes back.  Models come back split in 15 MiB parts (the device returns files of at most
# 16 MiB): `cat NAME.part* > NAME` here, then compare with NAME's line in models.sha256.
set -uo pipefail

OUT=${OUT:?OUT: the folder whose files come back}
RUNS=${RUNS:-/tmp/issue35_gpu}
export DESGHOST_SHARED_DATA=${DESGHOST_SHARED_DATA:-.gpu_data}
DEVICE=${DEVICE:-cuda}
TRAINER_THREADS=${TRAINER_THREADS:-2}  # torch CPU threads of each trainer: all 16 starve the renderers (0.73 s
                                       # per batch-16 step on the H200 against 0.15 s with 2)
WORKERS=${WORKERS:-13}            # base: render workers (16 cores, less the trainer's threads and one)
FT_WORKERS=${FT_WORKERS:-2}       # each of the four fine-tunes at once: 4 x (2 threads + 2 workers)
BATCH=${BATCH:-16}                # base images per step (the shipped base: 4)
BASE_LR=${BASE_LR:-8e-4}          # 4e-4 at batch 4, scaled by sqrt(16/4)
CALIB_STEPS=${CALIB_STEPS:-80}
BASE_SECONDS=${BASE_SECONDS:-300} # wall-clock seconds of base steps, startup not counted
BASE_END_S=${BASE_END_S:-380}     # a base still running then is stopped (SIGTERM: it exports the step reached)
MIN_BASE_STEPS=${MIN_BASE_STEPS:-300}
MAX_BASE_STEPS=${MAX_BASE_STEPS:-20000}
STEP_ROUND=${STEP_ROUND:-100}
FT_STEPS=${FT_STEPS:-150}
FT_TIMEOUT_S=${FT_TIMEOUT_S:-150}
DEADLINE_S=${DEADLINE_S:-570}     # the scoring ends by then: the 600 s command less a margin
LOG=$OUT/run.log

mkdir -p "$RUNS" "$OUT"
exec > >(tee -a "$LOG") 2>&1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

BASE_ARGS=(--backbone efficientnet_lite0_fpn --imagenet-backbone --batch-size "$BATCH" --lr "$BASE_LR" --seed 3
           --val-every 0 --render-workers "$WORKERS" --threads "$TRAINER_THREADS" --device "$DEVICE" --log-every 10)
RECIPE=(--steps "$FT_STEPS" --lr 2e-4 --warmup-steps 20 --real-fraction 0.4 --clean-fraction 0.3 --val-every 0
        --checkpoint-every 25 --seed 100 --render-workers "$FT_WORKERS" --threads "$TRAINER_THREADS" --device "$DEVICE")

say "machine: $(nproc) cores; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo no GPU)"
python3 -c "import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__, \
'cuda', torch.cuda.is_available())" || exit 1

# 1. calibration: the base's wall-clock seconds per step (render waits included), from the
#    steps after the batches rendered ahead while the trainer started, and before those rendered
#    ahead of its end (the workers prefetch 2 batches each; log.csv is flushed every 10 steps)
CALIB_FIRST=$(( (2 * WORKERS) / 10 * 10 + 10 ))
CALIB_LAST=$(( (CALIB_STEPS - 2 * WORKERS) / 10 * 10 ))
say "== calibration: $CALIB_STEPS steps at batch $BATCH"
python3 -m desghost train "$RUNS/calib" --steps "$CALIB_STEPS" --checkpoint-every 0 --overwrite "${BASE_ARGS[@]}" &
CALIB_PID=$!
SEC_PER_STEP=$(python3 - "$RUNS/calib/log.csv" "$CALIB_FIRST" "$CALIB_LAST" "$CALIB_PID" <<'EOF'
import os, sys, time
path, first, last, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seen = {}
def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
while alive() and last not in seen:
    try:
        rows = open(path).read().split("\n")[1:]
        step = max((int(r.split(",")[0]) for r in rows if r.strip()), default=0)
    except (OSError, ValueError):
        step = 0
    for s in (first, last):
        if step >= s and s not in seen:
            seen[s] = (step, time.monotonic())
    time.sleep(0.25)
if first in seen and last in seen and seen[last][0] > seen[first][0]:
    print(f"{(seen[last][1] - seen[first][1]) / (seen[last][0] - seen[first][0]):.4f}")
EOF
)
wait "$CALIB_PID"; CALIB_RC=$?
if [ -z "$SEC_PER_STEP" ] || [ "$CALIB_RC" != 0 ]; then say "calibration failed (exit $CALIB_RC)"; exit 1; fi
BASE_STEPS=$(python3 -c "
n = int($BASE_SECONDS / $SEC_PER_STEP) // $STEP_ROUND * $STEP_ROUND
print(max($MIN_BASE_STEPS, min($MAX_BASE_STEPS, n)))")
say "calibration: $SEC_PER_STEP s per step at batch $BATCH -> base of $BASE_STEPS steps"

# 2. the base, synthetic only
say "== base: $BASE_STEPS steps at batch $BATCH, lr $BASE_LR"
timeout -k 30 $(( BASE_END_S - ($(date +%s) - T0) )) \
    python3 -m desghost train "$RUNS/base" --steps "$BASE_STEPS" --checkpoint-every 100 "${BASE_ARGS[@]}"
BASE_RC=$?
[ -f "$RUNS/base/model.safetensors" ] || { say "base failed (exit $BASE_RC)"; exit 1; }
say "base: exit $BASE_RC, last step $(tail -n 1 "$RUNS/base/log.csv" | cut -d, -f1) of $BASE_STEPS"
cp "$RUNS/base/log.csv" "$OUT/base_log.csv"

# 3. the three fold fine-tunes and the all-30 fine-tune, at once
say "== fine-tunes: 3 folds and all 30, the shipped recipe"
timeout -k 30 "$FT_TIMEOUT_S" python3 -m research.cross_validation all-at-once "$RUNS/base/model.safetensors" \
    "$RUNS/cv_gpu" --data "$DESGHOST_SHARED_DATA" "${RECIPE[@]}"
say "fine-tunes: exit $?"
tail -n 2 "$RUNS"/cv_gpu/*.log

# 4. the models back in parts: folds 0 and 1 in this command (64 MiB per command); fold 2 and the
#    all-30 model stay in $RUNS for a second, copy-only command on the still-warm machine:
#    cd /tmp/issue35_gpu && for m in fold2 all; do split -b 15M -d cv_gpu/$m/model.safetensors \
#        $OUT/$m.safetensors.part; done; sha256sum base/model.safetensors cv_gpu/*/model.safetensors > $OUT/models.sha256
(cd "$RUNS" && sha256sum base/model.safetensors cv_gpu/fold*/model.safetensors cv_gpu/all/model.safetensors \
    > "$OUT/models.sha256")
for k in 0 1; do
    [ -f "$RUNS/cv_gpu/fold$k/model.safetensors" ] && split -b 15M -d "$RUNS/cv_gpu/fold$k/model.safetensors" \
        "$OUT/fold$k.safetensors.part"
done
say "== returned now: $(ls "$OUT" | tr '\n' ' ')"

# 5. the fold rule's figures, here as well (the CPU scoring of the returned models is the record)
LEFT_S=$(( DEADLINE_S - ($(date +%s) - T0) ))
SCORE_TIMEOUT_S=${SCORE_TIMEOUT_S:-$(( LEFT_S > 10 ? LEFT_S : 10 ))}
say "== fold-rule figures (at most $SCORE_TIMEOUT_S s)"
timeout -k 10 "$SCORE_TIMEOUT_S" python3 benchmarks/bench_detector.py --cv "$RUNS/cv_gpu" --synthetic 0 --clean 0 \
    --model "$RUNS/cv_gpu/all/model.safetensors" --device "$DEVICE" > "$OUT/score_gpu.txt" 2>&1
say "scoring: exit $? ; total $(( $(date +%s) - T0 )) s"

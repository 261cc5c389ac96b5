#!/usr/bin/env bash
# Issue 35: finish the long synthetic base, then score it and each fine-tuning lever by the fold
# rule (docs/experiments/session20_length.md, docs/experiments/session23_levers.md).
#
#   RUNS=/work/runs nice -n 19 setsid bash research/issue35_levers.sh > /work/runs/levers.log 2>&1 &
#
# Every step skips what is already done, so the script may be stopped at any time
# (kill -TERM -- -PGID: the running `desghost train` saves its checkpoint) and started again.
# The base's model.safetensors counts only once the run has reached step 5000 (a stopped run
# exports its model at the step it stopped at; this script always resumes the base first).
# Figures: RUNS/score_s5000_NAME.txt for each recipe (control: the length study), each written
# once, whole, beside the shipped recipe's figures; the scoring is deterministic, so the files compare.
# About 40 minutes per recipe on 2 cores once the base is complete.
set -euo pipefail

# the whole script is read before it runs, so editing the file never disturbs a running copy
main() {
  RUNS=${RUNS:-/work/runs}
  cd "$(dirname "$0")/.."
  BASE=$RUNS/base_lite0_s5000
  mkdir -p "$BASE"
  if [ ! -f "$BASE/checkpoint.pt" ]; then
    cp research/checkpoints/base_lite0_s5000.pt "$BASE/checkpoint.pt"
    cp research/checkpoints/base_lite0_s5000_log.csv "$BASE/log.csv"
  fi

  date; echo "== the base to step 5000 (at step 5000 already: exports its model, trains nothing)"
  python -m desghost train "$BASE" --steps 5000 --backbone efficientnet_lite0_fpn --imagenet-backbone \
      --val-every 0 --seed 3 --checkpoint-every 50 --resume

  RECIPE=(--steps 150 --lr 2e-4 --warmup-steps 20 --real-fraction 0.4 --clean-fraction 0.3 --val-every 0
          --checkpoint-every 25 --seed 100)
  declare -A LEVERS=([control]="" [mirror]="--real-geometry mirror" [photometry]="--real-photometry transfer"
                     [disc]="--family-disc member-radius"
                     [combined]="--family-disc member-radius --real-photometry transfer")
  # the disc rule before sky transfer: false-positive CCDs are the step-5000 control's largest error;
  # the two levers that pass their rules are then scored together (session23_levers.md)
  ORDER=(control mirror disc photometry combined)
  for name in "${ORDER[@]}"; do
    date; echo "== fold fine-tunes: $name ${LEVERS[$name]}"
    # shellcheck disable=SC2086  # a lever is zero, two or four words
    python -m research.cross_validation train "$BASE/model.safetensors" "$RUNS/cv_s5000_$name" "${RECIPE[@]}" \
        ${LEVERS[$name]}
    # each recipe is scored alone as soon as its fold models exist (the control's is the length
    # study's step-5000 row), so a stopped run leaves the figures of every finished lever
    score "$RUNS/score_s5000_$name.txt" "$RUNS/cv_s5000_$name"
  done
  date; echo "== done: $RUNS/score_s5000_*.txt"
}

# score OUT DIR : the fold rule's figures for the recipe in DIR, written once and whole
score() {
  local out=$1 recipe=$2
  date; echo "== score into $out"
  if [ ! -f "$out" ]; then
    python benchmarks/bench_detector.py --cv default "$recipe" --synthetic 0 --clean 0 > "$out.part" 2>&1
    mv "$out.part" "$out"
  fi
}
main "$@"
exit

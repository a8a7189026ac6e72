#!/usr/bin/env bash
# The HATCH experiment at our scale (issue 5): the same budget (optimizer steps x batch) and seed for
#   baseline  QA fine-tuning only
#   pasta     PaStA, then QA
#   actor     QA, ActoR cold-start SFT, GRPO
#   hatch     PaStA, QA, ActoR SFT, GRPO (the full recipe)
# on the synthetic world, each scored on the same held-out scenes with MindCube's rules; the full
# model is also exported to Q8_0 and scored again (the fp32 -> int8 change).
# Usage: tools/experiment.sh [OUT_DIR] (env: STEPS=600 BATCH=8 EVAL=300 SEED=1 THREADS=0 BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/experiment}
steps=${STEPS:-600}
batch=${BATCH:-8}
n_eval=${EVAL:-300}
seed=${SEED:-1}
threads=${THREADS:-0}
ht=${BUILD:-build}/hatch-train
mkdir -p "$out/runs"
p=$((steps / 6)) a=$((steps / 6)) g=$((steps / 12))
q_full=$((steps - p - a - g)) q_pasta=$((steps - p)) q_actor=$((steps - a - g))
declare -A stages=(
  [baseline]="qa:$steps"
  [pasta]="pasta:$p,qa:$q_pasta"
  [actor]="qa:$q_actor,actor:$a,grpo:$g"
  [hatch]="pasta:$p,qa:$q_full,actor:$a,grpo:$g"
)
if [ ! -f "$out/tokenizer.json" ]; then
  "$ht" corpus --out "$out/corpus.txt" --samples 3000 --seed 7
  "$ht" tokenizer --corpus "$out/corpus.txt" --vocab 1024 --out "$out/tokenizer.json"
  rm -f "$out/corpus.txt"
fi
for v in baseline pasta actor hatch; do
  run="$out/runs/$v"
  if [ ! -f "$run/model-f32.gguf" ]; then
    rm -rf "$run"
    "$ht" train --out "$run" --tokenizer "$out/tokenizer.json" --preset small --seed "$seed" --threads "$threads" \
      --batch "$batch" --stages "${stages[$v]}" --eval-every $((steps / 4)) --eval-samples 64 --checkpoint-every 100 --quiet
  fi
  "$ht" eval --model "$run/model-f32.gguf" --sim "$n_eval" --threads "$threads" --json "$out/$v-f32.json" > "$out/$v-f32.txt"
done
"$ht" export --from "$out/runs/hatch/model-f32.gguf" --out "$out/hatch-small-q8_0.gguf" --type q8_0
"$ht" eval --model "$out/hatch-small-q8_0.gguf" --sim "$n_eval" --threads "$threads" --json "$out/hatch-q8_0.json" > "$out/hatch-q8_0.txt"
"$ht" plot "$out"/runs/*/metrics.jsonl "$out/curves.svg" --keys loss,eval_accuracy,reward --smooth 0.9 || true
{
  echo "| variant | stages | around | rotation | among | overall | plan format | action within 0.5 m / 15 deg |"
  echo "|---|---|---|---|---|---|---|---|"
  for v in baseline pasta actor hatch; do
    python3 - "$out/$v-f32.json" "$v" "${stages[$v]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda k: "%.1f" % r[k] if k in r else "-"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {f('around')} | {f('rotation')} | {f('among')} | {f('overall')} | {f('format')} | {f('action_close')} |")
PY
  done
  python3 - "$out/hatch-q8_0.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda k: "%.1f" % r[k] if k in r else "-"
print(f"| hatch, Q8_0 export | same | {f('around')} | {f('rotation')} | {f('among')} | {f('overall')} | {f('format')} | {f('action_close')} |")
PY
} > "$out/results.md"
cat "$out/results.md"

#!/usr/bin/env bash
# The HATCH experiment at our scale (issue 5): the same budget (optimizer steps x batch) and seed for
#   baseline  QA fine-tuning only
#   pasta     PaStA, then QA
#   actor     QA, ActoR cold-start SFT, GRPO
#   hatch     PaStA, QA, ActoR SFT, GRPO (the full recipe)
# on the synthetic world, each scored on the same held-out scenes with MindCube's rules; the full
# model is also exported to Q8_0 and scored again (the fp32 -> int8 change). Every model is scored three
# times: greedy decoding (MindCube's protocol: the decoder's own letter), with --rank-options (the most
# likely whole option after the decoded action, hatch/choice.h), and as `hatch query --rank-options`
# answers on the robot (the action decoded under the plan grammar, then the options ranked).
# Usage: tools/experiment.sh [OUT_DIR] (env: STEPS=600 BATCH=8 EVAL=300 SEED=1 THREADS=0 BUILD=build
#        BASE=model.gguf: every variant starts from these weights, a shared base that already sees
#        (the caption/ground stages, bench/experiment/README.md); unset: from scratch;
#        LONG="2400 4800": then continue the baseline with that many more QA steps and full HATCH with as
#        many more ActoR SFT steps, one run per number, each starting from the last (runs/*-long1, -long2...,
#        run k with seed SEED + k),
#        and score the last of each, the HATCH one also as its Q8_0 export)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/experiment}
steps=${STEPS:-600}
batch=${BATCH:-8}
n_eval=${EVAL:-300}
seed=${SEED:-1}
threads=${THREADS:-0}
ht=${BUILD:-build}/hatch-train
init=()
if [ -n "${BASE:-}" ]; then init=(--init "$BASE"); fi
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
      --batch "$batch" --stages "${stages[$v]}" --eval-every $((steps / 4)) --eval-samples 64 --checkpoint-every 100 \
      "${init[@]}" --quiet
  fi
done
declare -A long_stage=([baseline]=qa [hatch]=actor)
last=()
for v in baseline hatch; do
  from="$out/runs/$v/model-f32.gguf" k=0 total=0
  for n in ${LONG:-}; do
    k=$((k + 1)) total=$((total + n))
    run="$out/runs/$v-long$k"
    if [ ! -f "$run/model-f32.gguf" ]; then
      rm -rf "$run"
      # seed + k: a synthetic batch depends on (seed, stage index, step), so the same seed would replay
      # the batches of the run it continues
      "$ht" train --out "$run" --tokenizer "$out/tokenizer.json" --preset small --seed "$((seed + k))" \
        --threads "$threads" --batch "$batch" --stages "${long_stage[$v]}:$n" --eval-every 100000 --checkpoint-every 300 \
        --init "$from" --quiet
    fi
    from="$run/model-f32.gguf"
  done
  [ "$k" = 0 ] || last+=("$v-long$k|${stages[$v]}, then ${long_stage[$v]}:$total ($LONG)")
done
"$ht" export --from "$out/runs/hatch/model-f32.gguf" --out "$out/hatch-small-q8_0.gguf" --type q8_0
score() { # model name: greedy and ranked reports
  "$ht" eval --model "$1" --sim "$n_eval" --threads "$threads" --json "$out/$2.json" > "$out/$2.txt"
  "$ht" eval --model "$1" --sim "$n_eval" --threads "$threads" --rank-options --json "$out/$2-ranked.json" > "$out/$2-ranked.txt"
  "$ht" eval --model "$1" --sim "$n_eval" --threads "$threads" --rank-options --constrained --json "$out/$2-query.json" \
    > "$out/$2-query.txt"
}
for v in baseline pasta actor hatch; do score "$out/runs/$v/model-f32.gguf" "$v-f32"; done
score "$out/hatch-small-q8_0.gguf" hatch-q8_0
for row in "${last[@]}"; do
  v=${row%%|*}
  score "$out/runs/$v/model-f32.gguf" "$v-f32"
  if [ "${v%-long*}" = hatch ]; then
    "$ht" export --from "$out/runs/$v/model-f32.gguf" --out "$out/$v-small-q8_0.gguf" --type q8_0
    score "$out/$v-small-q8_0.gguf" "$v-q8_0"
  fi
done
"$ht" plot "$out"/runs/*/metrics.jsonl "$out/curves.svg" --keys loss,eval_accuracy,reward --smooth 0.9 || true
rows=()
for v in baseline pasta actor hatch; do rows+=("$v|${stages[$v]}|$out/$v-f32"); done
rows+=("hatch, Q8_0 export|same|$out/hatch-q8_0")
for row in "${last[@]}"; do
  v=${row%%|*}
  rows+=("$v|${row#*|}|$out/$v-f32")
  [ "${v%-long*}" != hatch ] || rows+=("$v, Q8_0 export|same|$out/$v-q8_0")
done
python3 - "${rows[@]}" > "$out/results.md" <<'PY'
import json, sys
print("| variant | stages | greedy: around | rotation | among | **overall** | plan format | ranked: around | rotation | among "
      "| **overall** | as hatch query: around | rotation | among | **overall** | action within 0.5 m / 15 deg |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    name, stages, stem = row.split("|")
    g, r, q = (json.load(open(stem + x + ".json")) for x in ("", "-ranked", "-query"))
    f = lambda d, k: "%.1f" % d[k] if k in d else "-"
    keys = ("around", "rotation", "among", "overall")
    cells = [f(g, k) for k in keys] + [f(g, "format")] + [f(r, k) for k in keys] + [f(q, k) for k in keys]
    print(f"| {name} | {stages} | " + " | ".join(cells) + f" | {f(q, 'action_close')} |")
PY
cat "$out/results.md"

#!/usr/bin/env bash
# The main job: install what is missing, build, then report the device (hatch doctor), run the
# op benchmark (build/bench-ops.json), capture synchronized sets from four fake cameras (one with
# corrupt frames) into build/capture-demo/, run the camera benchmark (build/bench-cameras.json), and
# answer a question from two fake cameras with a random-weight model (the pipeline, not the answer);
# then the shipped HATCH model (models/hatch-small-q8_0.gguf) answers questions about held-out
# synthetic scenes (hatch-train data) from their images, with the true answer printed beside each plan.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
./build/hatch doctor
./build/hatch bench ops --json build/bench-ops.json "$@"
rm -rf build/capture-demo
./build/hatch capture --out build/capture-demo --sets 30 \
  --camera "fake://front?pattern=scene" --camera "fake://left?pattern=scene&seed=2" \
  --camera "fake://right?pattern=scene&seed=3&faults=corrupt:7" --camera "fake://back?pattern=scene&seed=4"
./build/hatch bench cameras --json build/bench-cameras.json
# The query path from live cameras to plan JSON on a random-weight model with the fixture (Qwen-style)
# tokenizer: the plan is valid, its content means nothing. The trained model follows below.
./build/hatch random-model --tokenizer tests/fixtures/tokenizer/tokenizer.json build/random-tiny.gguf
./build/hatch query --model build/random-tiny.gguf --options 4 --question "From the front camera, which side is the red chair on?" \
  --camera "fake://front?pattern=scene" --camera "fake://left?pattern=scene&seed=2"
rm -rf build/sim-demo
./build/hatch-train data --out build/sim-demo --samples 6 --seed 20261121 --size 112 --settings rotation,around,among
python3 tools/ask-sim.py ./build/hatch models/hatch-small-q8_0.gguf build/sim-demo 6
echo "bench results: build/bench-ops.json build/bench-cameras.json; capture: build/capture-demo/manifest.json"

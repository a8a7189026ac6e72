#!/usr/bin/env bash
# The main job: install what is missing, build, then report the device (hatch doctor) and run the
# op benchmark, writing its machine-readable results to build/bench-ops.json.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
./build/hatch doctor
./build/hatch bench ops --json build/bench-ops.json "$@"
echo "bench results: build/bench-ops.json"
